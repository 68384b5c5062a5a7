/**
 * How an online record is stored: one string per (view, entity),
 *
 *     <eventTs>|<createdTs>|<JSON object of feature name → value>
 *
 * Why this shape:
 * - One string per key lets a request for E entities × V views be a single MGET — one command, one round
 *   trip — where a hash per key would need E×V HMGETs.
 * - The two timestamps come first as decimal epoch ms, so the write script compares them with a pattern
 *   match, without decoding JSON inside Redis.
 * - Values are keyed by feature name: adding a feature to a view later reads as null in old records, and a
 *   removed feature is ignored, with no migration. The names cost a few bytes per feature; at the ten-ish
 *   features of a typical view that is small next to Redis's own per-key overhead.
 */
import { SkewlessError } from '../errors.ts';
import type { OnlineRecord } from './types.ts';

export function encodeRecord(record: OnlineRecord): string {
  return `${record.eventTs}|${record.createdTs}|${JSON.stringify(record.values)}`;
}

const HEAD = /^(-?\d+)\|(-?\d+)\|/;

export function decodeRecord(text: string): OnlineRecord | SkewlessError {
  const head = HEAD.exec(text);
  if (head !== null) {
    try {
      const values = JSON.parse(text.slice(head[0].length)) as unknown;
      if (values !== null && typeof values === 'object' && !Array.isArray(values)) {
        return { eventTs: Number(head[1]), createdTs: Number(head[2]), values: values as Record<string, unknown> };
      }
    } catch {
      // fall through to the error below
    }
  }
  return new SkewlessError('ONLINE_VALUE_CORRUPT', `online store value is not a Skewless record: ${JSON.stringify(text.slice(0, 60))}`, { httpStatus: 500 });
}

/**
 * Lua for the atomic only-if-newer write: KEYS[1] the key, ARGV = eventTs, createdTs, encoded record.
 * Returns 1 when written, 0 when the stored record is newer. Epoch ms fit exactly in Lua's doubles.
 * Kept in step with features/freshness.ts `replaces` (ties on both timestamps: the later write wins).
 */
export const WRITE_IF_NEWER_LUA = `
local current = redis.call('GET', KEYS[1])
if current then
  local e, c = string.match(current, '^(%-?%d+)|(%-?%d+)|')
  if e then
    local ne, nc = tonumber(ARGV[1]), tonumber(ARGV[2])
    e, c = tonumber(e), tonumber(c)
    if e > ne or (e == ne and c > nc) then return 0 end
  end
end
redis.call('SET', KEYS[1], ARGV[3])
return 1
`;
