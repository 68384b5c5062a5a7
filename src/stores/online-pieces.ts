/**
 * How an aggregation view is kept online: per (view, entity), one hash under the same key a row view's
 * record would have (`{Entity:key}:view`, so an entity's views share a Redis Cluster slot) and one sorted
 * set beside it (`{Entity:key}:view:events`), holding the pieces the gateway needs to finalise any window
 * at T ≈ now (see features/aggregate/tiles.ts):
 *
 *   hash   T:<width>:<start>    a tile [start, start + width)                  <version>|{feature: partial, …}
 *          S:<width>:<start>    a slice of a head tile, of one level           <version>|{feature: partial, …}
 *          P                    when the hash was last pruned (epoch ms)
 *   set    <time>:<topic>/<partition>/<offset>|<JSON of the fields read>       one recent raw event, scored by its time
 *
 * A tile or slice field holds every feature of one piece group (the view's features with one hop, or
 * whose head tiles are split into slices of one width), exactly as the PostgreSQL row holds them: one field
 * per piece rather than one per feature and piece, so a write sends (and the store keeps) a few times
 * fewer fields.
 *
 * Why raw events in a sorted set: they are kept for the clock slack (2 minutes), but a read at T needs
 * only those of T's finest slice (features/aggregate/tiles.ts), which a range by score returns without
 * the rest. Earlier versions kept them in the hash (`E:<time>:<position>`): the gateway still folds such
 * fields, and writes prune them as they age out.
 *
 * Why a hash of pieces rather than one value: a batch touches a few tiles of an entity, and each is written
 * with its absolute merged partial as committed in PostgreSQL, not by re-sending the whole state.
 *
 * Writes are absolute and idempotent, yet safe in any order: a tile or slice carries the version its
 * PostgreSQL row got at that merge (incremented by every merge), and a field is written only when absent
 * or older. Two materializers writing one merchant's tiles in either order, a replay, or a rebuild from
 * PostgreSQL all leave the newest partial. A raw event never changes: adding it twice adds nothing.
 *
 * Pruning keeps both bounded: at most once per `everyMs` a write deletes pieces no T ≥ now − slack can
 * read (per group: tiles before its retention, slices before its head tiles; events before the slack)
 * and pieces of widths no group has any more. Fields in the per-feature layout of Skewless before 0.8
 * (`T:<feature>:<start>`) are left for `skewless rebuild-online` to replace (the gateway refuses to read
 * a hash that still has them: ONLINE_LAYOUT_OUTDATED). Both keys also expire once no window could reach
 * their newest piece, so an entity that goes quiet leaves nothing behind. A missing hash reads as no
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
  /** Per kind and width (a group's tiles, a group's slices): pieces starting before `from` go. Widths not listed go entirely. */
  readonly pieces: readonly { readonly kind: 'T' | 'S'; readonly width: number; readonly from: number }[];
  /** Raw events dated before this go. */
  readonly eventFrom: number;
  /**
   * The hash and its events expire at least this long after their last write, and at most `everyMs`
   * longer (0: never), ms. Their expiry is set when a write prunes and when it creates the events' set,
   * not at every write (with the prune time read along with the fields, Redis spent 27.2 instead of
   * 28.9 µs per hash write in a harness, docs/benchmarks.md).
   */
  readonly expireMs: number;
}

/** A raw event kept online: its time (the score) and its member, `<time>:<position>|<json>`. */
export interface OnlineEvent {
  readonly time: number;
  readonly member: string;
}

export interface PiecesWrite extends OnlineKey {
  readonly fields: readonly PieceField[];
  readonly events: readonly OnlineEvent[];
  readonly prune: PruneBounds;
  /** Also delete fields of the per-feature layout of earlier versions (`skewless rebuild-online` sets it). */
  readonly dropOutdated?: boolean;
}

export const PRUNED_AT = 'P';

export const tileField = (width: number, start: number): string => `T:${width}:${start}`;
export const sliceField = (width: number, start: number): string => `S:${width}:${start}`;
/** The sorted set of an aggregation hash's raw events. */
export const eventsKey = (hashKey: string): string => `${hashKey}:events`;

/**
 * The parts as one flat string. `+` and template literals build a rope (a tree of the parts), and ioredis
 * measures every argument's UTF-8 length before sending it, which first copies a rope into a flat string;
 * `join` builds the flat string at once. Measured on members and piece values as a commit sends them:
 * about 0.5 µs less per event of the materializer's CPU (docs/benchmarks.md).
 */
const flat = (...parts: (string | number)[]): string => parts.join('');

/** A raw event as the sorted set keeps it; its position makes the member unique. */
export const onlineEvent = (time: number, position: { readonly topic: string; readonly partition: number; readonly offset: number }, json: string): OnlineEvent => ({
  time,
  member: flat(time, ':', position.topic, '/', position.partition, '/', position.offset, '|', json),
});

/** An event member taken apart: its time and JSON (a topic name cannot hold `|`). Undefined when malformed. */
export function parseOnlineEvent(member: string): { time: number; json: string } | undefined {
  const colon = member.indexOf(':');
  const bar = member.indexOf('|', colon);
  const time = Number(member.slice(0, colon));
  return colon > 0 && bar > colon && Number.isSafeInteger(time) ? { time, json: member.slice(bar + 1) } : undefined;
}

export const encodePiece = (version: number, json: string): string => flat(version, '|', json);

/**
 * A field name taken apart: T/S with width and start, or E (a raw event in the hash, as earlier versions
 * kept them) with the event time. Undefined for anything else.
 */
export function parsePieceField(name: string): { kind: 'T' | 'S'; width: number; start: number } | { kind: 'E'; time: number } | undefined {
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
  const width = Number(name.slice(2, colon));
  return colon > 2 && Number.isSafeInteger(start) && Number.isSafeInteger(width) && width > 0 ? { kind, width, start } : undefined;
}

/** A tile or slice field of the per-feature layout of Skewless before 0.8: `T:<feature>:<start>`. */
export function isOutdatedPieceField(name: string): boolean {
  return (name[0] === 'T' || name[0] === 'S') && name[1] === ':' && !/^[TS]:\d+:-?\d+$/.test(name);
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
 * The write applied to a hash and its events held in memory (member → time): the embedded store's
 * implementation of the Lua script below, kept in step with it (the online store contract runs both).
 * Returns the number of fields written (events not counted).
 */
export function applyPiecesWrite(hash: Map<string, string>, events: Map<string, number>, write: PiecesWrite): number {
  for (const event of write.events) events.set(event.member, event.time);
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
  if (write.dropOutdated === true) for (const name of [...hash.keys()]) if (isOutdatedPieceField(name)) hash.delete(name);
  const last = Number(hash.get(PRUNED_AT) ?? 0);
  if (prune.now - last >= prune.everyMs) {
    const rules = new Map(prune.pieces.map((r) => [`${r.kind}:${r.width}`, r.from]));
    for (const name of [...hash.keys()]) {
      const piece = parsePieceField(name);
      if (piece === undefined) continue;
      if (piece.kind === 'E') {
        if (piece.time < prune.eventFrom) hash.delete(name);
        continue;
      }
      const from = rules.get(`${piece.kind}:${piece.width}`);
      if (from === undefined || piece.start < from) hash.delete(name);
    }
    for (const [member, time] of events) if (time < prune.eventFrom) events.delete(member);
    hash.set(PRUNED_AT, String(prune.now));
  }
  return written;
}

/**
 * Writes one WRITE_PIECES_LUA call may carry. A script blocks Redis while it runs: a call of this many
 * hashes (a few hundred fields) takes 2–4 ms of Redis's time. Measured on 5,300 hashes as one commit
 * writes them, the writer spent 21–41 µs of CPU per hash against 41–85 with one call per hash, and Redis
 * 18–35 against 24–44 µs (docs/benchmarks.md).
 */
export const PIECES_WRITES_PER_CALL = 100;

/**
 * What the writes of one call must share: the prune rules and dropOutdated, as WRITE_PIECES_LUA's first
 * argument, `<now> <everyMs> <expireMs> <eventFrom> <0|1>` then ` <T|S>:<width>:<from>` per rule.
 */
export function piecesHeader(write: PiecesWrite): string {
  const { prune } = write;
  let header = `${prune.now} ${prune.everyMs} ${prune.expireMs} ${prune.eventFrom} ${write.dropOutdated === true ? 1 : 0}`;
  for (const r of prune.pieces) header += ` ${r.kind}:${r.width}:${r.from}`;
  return header;
}

/**
 * The arguments of WRITE_PIECES_LUA after its keys (a hash and its events' set per write, in order), for
 * writes sharing `header`: per write, its number of fields, the (name, value) pairs, its number of
 * events, the (time, member) pairs.
 */
export function piecesScriptArgs(header: string, writes: readonly PiecesWrite[]): (string | number)[] {
  const args: (string | number)[] = [header];
  for (const write of writes) {
    args.push(write.fields.length);
    for (const field of write.fields) args.push(field.name, field.value);
    args.push(write.events.length);
    for (const event of write.events) args.push(event.time, event.member);
  }
  return args;
}

/** Fields per HMGET and per HSET inside WRITE_PIECES_LUA: well under what Lua's `unpack` can spread (about 8,000 values). */
const FIELDS_PER_REDIS_CALL = 1000;

/**
 * Lua for pieces writes, atomic per hash, any number of hashes per call. KEYS per write its hash then its
 * events' set; ARGV[1] the header (piecesHeader), then per write: its number of fields n, n (field, value)
 * pairs, its number of events m, m (time, member) pairs. Same rules as applyPiecesWrite. Returns, per
 * write, the number of fields written. Epoch ms and versions fit exactly in Lua's doubles.
 */
export const WRITE_PIECES_LUA = `
local nowText, every, expireText, eventFrom, dropOutdated, ruleText = string.match(ARGV[1], '^(%-?%d+) (%d+) (%d+) (%-?%d+) ([01])(.*)$')
local now, expire = tonumber(nowText), tonumber(expireText)
every, eventFrom, dropOutdated = tonumber(every), tonumber(eventFrom), dropOutdated == '1'
-- Set when a write prunes (at most every \`every\` ms) or creates the events' set: at least \`expire\` after any write.
local ttl = string.format('%.0f', expire + every)
local rules = nil
local results = {}
local a = 2
for k = 1, #KEYS / 2 do
  local key, events = KEYS[2 * k - 1], KEYS[2 * k]
  local last = a + 1 + 2 * tonumber(ARGV[a])
  a = a + 1
  local written = 0
  -- When the hash was last pruned: read with the first HMGET, or alone when the write has no fields.
  local pruned = nil
  -- One HMGET and one HSET per ${FIELDS_PER_REDIS_CALL} fields rather than an HGET and an HSET per field: each
  -- redis.call costs more than the comparison. A field named twice compares with what it was just given.
  while a < last do
    local stop = math.min(last, a + ${2 * FIELDS_PER_REDIS_CALL})
    local names = {}
    for i = a, stop - 1, 2 do names[#names + 1] = ARGV[i] end
    local count = #names
    if pruned == nil then names[count + 1] = '${PRUNED_AT}' end
    local current = redis.call('HMGET', key, unpack(names))
    if pruned == nil then pruned = current[count + 1] end
    local set, given = {}, {}
    for j = 1, count do
      local name, value = names[j], ARGV[a + 2 * j - 1]
      local held = given[name] or current[j]
      local cv = held and tonumber(string.match(held, '^(%d+)|'))
      if not cv or cv < tonumber(string.match(value, '^(%d+)|')) then
        set[#set + 1] = name
        set[#set + 1] = value
        given[name] = value
        written = written + 1
      end
    end
    if #set > 0 then redis.call('HSET', key, unpack(set)) end
    a = stop
  end
  last = a + 1 + 2 * tonumber(ARGV[a])
  a = a + 1
  local created = a < last and redis.call('EXISTS', events) == 0
  while a < last do
    local stop = math.min(last, a + ${2 * FIELDS_PER_REDIS_CALL})
    redis.call('ZADD', events, unpack(ARGV, a, stop - 1))
    a = stop
  end
  if dropOutdated then
    for _, name in ipairs(redis.call('HKEYS', key)) do
      if string.match(name, '^[TS]:') and not string.match(name, '^[TS]:%d+:%-?%d+$') then redis.call('HDEL', key, name) end
    end
  end
  if pruned == nil then pruned = redis.call('HGET', key, '${PRUNED_AT}') end
  pruned = tonumber(pruned or '0') or 0
  if now - pruned >= every then
    if rules == nil then
      rules = {}
      for rule, from in string.gmatch(ruleText, ' ([TS]:%d+):(%-?%d+)') do rules[rule] = tonumber(from) end
    end
    for _, name in ipairs(redis.call('HKEYS', key)) do
      local kind, width, b = string.match(name, '^([TSE]):(.*):([^:]*)$')
      if kind == 'E' then
        local time = tonumber(string.match(name, '^E:(%-?%d+):'))
        if time and time < eventFrom then redis.call('HDEL', key, name) end
      elseif kind and string.match(width, '^%d+$') then
        local from = rules[kind .. ':' .. width]
        local start = tonumber(b)
        if from == nil or (start and start < from) then redis.call('HDEL', key, name) end
      end
    end
    redis.call('ZREMRANGEBYSCORE', events, '-inf', '(' .. eventFrom)
    redis.call('HSET', key, '${PRUNED_AT}', nowText)
    if expire > 0 then
      redis.call('PEXPIRE', key, ttl)
      redis.call('PEXPIRE', events, ttl)
    end
  elseif created and expire > 0 then
    redis.call('PEXPIRE', events, ttl)
  end
  results[k] = written
end
return results
`;
