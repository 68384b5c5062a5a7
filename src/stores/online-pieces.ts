/**
 * How an aggregation view is kept online: one hash per (view, entity), under the same key a row view's
 * record would have (`{Entity:key}:view`, so an entity's views share a Redis Cluster slot), holding the
 * pieces the gateway needs to finalise any window at T ≈ now (see features/aggregate/tiles.ts):
 *
 *   T:<feature>:<start>                   a tile [start, start + hop)           <version>|<partial JSON>
 *   S:<feature>:<start>                   a slice of a head tile                <version>|<partial JSON>
 *   E:<time>:<topic>/<partition>/<offset> one recent raw event's inputs         0|<JSON of the fields read>
 *   P                                     when the hash was last pruned (epoch ms)
 *
 * Why a hash of pieces rather than one value: a batch touches a few tiles of an entity, and each is written
 * with its absolute merged partial as committed in PostgreSQL, not by re-sending the whole state.
 *
 * Writes are absolute and idempotent, yet safe in any order: a tile or slice carries the version its
 * PostgreSQL row got at that merge (incremented by every merge), and a field is written only when absent
 * or older. Two materializers writing one merchant's tiles in either order, a replay, or a rebuild from
 * PostgreSQL all leave the newest partial. A raw event's field never changes, so version 0 suffices.
 *
 * Pruning keeps the hash bounded: at most once per `everyMs` a write deletes pieces no T ≥ now − slack
 * can read (per feature: tiles before its retention, slices before its head tile; events before the
 * oldest head slice) and fields of features no longer defined. The hash also expires once no window could
 * reach its newest piece, so an entity that goes quiet leaves nothing behind. A missing hash reads as no
 * events, which is exactly what every window holds by then.
 */
import type { OnlineKey } from './types.ts';

export type PieceKind = 'T' | 'S' | 'E';

/** A field to write: its name and encoded value (`<version>|<json>`). */
export interface PieceField {
  readonly name: string;
  readonly value: string;
}

/** What a write may delete, judged by the writer's clock (see the header). */
export interface PruneBounds {
  /** The writer's clock, epoch ms. */
  readonly now: number;
  /** Prune at most this often per hash, ms. */
  readonly everyMs: number;
  /** Per feature: tiles before `tileFrom` and slices before `sliceFrom` go. Features not listed go entirely. */
  readonly features: readonly { readonly feature: string; readonly tileFrom: number; readonly sliceFrom: number }[];
  /** Raw events dated before this go. */
  readonly eventFrom: number;
  /** The hash expires this long after its last write, ms. */
  readonly expireMs: number;
}

export interface PiecesWrite extends OnlineKey {
  readonly fields: readonly PieceField[];
  readonly prune: PruneBounds;
}

export const PRUNED_AT = 'P';

export const tileField = (feature: string, start: number): string => `T:${feature}:${start}`;
export const sliceField = (feature: string, start: number): string => `S:${feature}:${start}`;
export const eventField = (time: number, position: { readonly topic: string; readonly partition: number; readonly offset: number }): string =>
  `E:${time}:${position.topic}/${position.partition}/${position.offset}`;

export const encodePiece = (version: number, json: string): string => `${version}|${json}`;

/** A field name taken apart: T/S with feature and start, or E with the event time. Undefined for anything else. */
export function parsePieceField(name: string): { kind: 'T' | 'S'; feature: string; start: number } | { kind: 'E'; time: number } | undefined {
  const kind = name[0];
  if (name[1] !== ':') return undefined;
  if (kind === 'E') {
    const end = name.indexOf(':', 2);
    const time = Number(name.slice(2, end));
    return end > 2 && Number.isSafeInteger(time) ? { kind: 'E', time } : undefined;
  }
  if (kind !== 'T' && kind !== 'S') return undefined;
  const colon = name.lastIndexOf(':');
  const start = Number(name.slice(colon + 1));
  return colon > 2 && Number.isSafeInteger(start) ? { kind, feature: name.slice(2, colon), start } : undefined;
}

/** The JSON part of an encoded piece, or undefined when it is not `<version>|<json>`. */
export function pieceJson(value: string): string | undefined {
  const bar = value.indexOf('|');
  return bar > 0 ? value.slice(bar + 1) : undefined;
}

function pieceVersion(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const bar = value.indexOf('|');
  const version = bar > 0 ? Number(value.slice(0, bar)) : NaN;
  return Number.isSafeInteger(version) ? version : undefined;
}

/**
 * The write applied to a hash held in memory: the embedded store's implementation of the Lua script
 * below, kept in step with it (the online store contract runs both). Returns the number of fields written.
 */
export function applyPiecesWrite(hash: Map<string, string>, write: PiecesWrite): number {
  let written = 0;
  for (const field of write.fields) {
    const current = pieceVersion(hash.get(field.name));
    const next = pieceVersion(field.value)!;
    if (current === undefined || current < next) {
      hash.set(field.name, field.value);
      written++;
    }
  }
  const { prune } = write;
  const last = Number(hash.get(PRUNED_AT) ?? 0);
  if (prune.now - last >= prune.everyMs) {
    const rules = new Map(prune.features.map((f) => [f.feature, f]));
    for (const name of [...hash.keys()]) {
      const piece = parsePieceField(name);
      if (piece === undefined) continue;
      if (piece.kind === 'E') {
        if (piece.time < prune.eventFrom) hash.delete(name);
        continue;
      }
      const rule = rules.get(piece.feature);
      if (rule === undefined || piece.start < (piece.kind === 'T' ? rule.tileFrom : rule.sliceFrom)) hash.delete(name);
    }
    hash.set(PRUNED_AT, String(prune.now));
  }
  return written;
}

/** The arguments of WRITE_PIECES_LUA for one write. */
export function piecesScriptArgs(write: PiecesWrite): (string | number)[] {
  const { prune } = write;
  const args: (string | number)[] = [prune.now, prune.everyMs, prune.expireMs, prune.eventFrom, prune.features.length];
  for (const f of prune.features) args.push(f.feature, f.tileFrom, f.sliceFrom);
  for (const field of write.fields) args.push(field.name, field.value);
  return args;
}

/**
 * Lua for a pieces write, atomic per hash. KEYS[1] the hash; ARGV: now, everyMs, expireMs, eventFrom,
 * n, then n × (feature, tileFrom, sliceFrom), then (field, value) pairs. Same rules as applyPiecesWrite.
 * Epoch ms and versions fit exactly in Lua's doubles.
 */
export const WRITE_PIECES_LUA = `
local key = KEYS[1]
local now, every, expire, eventFrom, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local written = 0
local i = 6 + n * 3
while i < #ARGV do
  local field, value = ARGV[i], ARGV[i + 1]
  local current = redis.call('HGET', key, field)
  local cv = current and tonumber(string.match(current, '^(%d+)|'))
  if not cv or cv < tonumber(string.match(value, '^(%d+)|')) then
    redis.call('HSET', key, field, value)
    written = written + 1
  end
  i = i + 2
end
local last = tonumber(redis.call('HGET', key, '${PRUNED_AT}') or '0') or 0
if now - last >= every then
  local rules = {}
  for r = 0, n - 1 do
    rules[ARGV[6 + r * 3]] = { tonumber(ARGV[7 + r * 3]), tonumber(ARGV[8 + r * 3]) }
  end
  for _, name in ipairs(redis.call('HKEYS', key)) do
    local kind, a, b = string.match(name, '^([TSE]):(.*):([^:]*)$')
    if kind == 'E' then
      local time = tonumber(string.match(name, '^E:(%-?%d+):'))
      if time and time < eventFrom then redis.call('HDEL', key, name) end
    elseif kind then
      local rule = rules[a]
      local start = tonumber(b)
      if rule == nil or (start and start < rule[kind == 'T' and 1 or 2]) then redis.call('HDEL', key, name) end
    end
  end
  redis.call('HSET', key, '${PRUNED_AT}', ARGV[1])
end
if expire > 0 then redis.call('PEXPIRE', key, ARGV[3]) end
return written
`;
