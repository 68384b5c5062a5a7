/**
 * How an aggregation view is kept online: per (view, entity), one hash under the same key a row view's
 * record would have (`{Entity:key}:view`, so an entity's views share a Redis Cluster slot) and, beside it,
 * its recent raw events in buckets of time (`{Entity:key}:view:events:<width>:<start>`), holding the pieces
 * the gateway needs to finalise any window at T ≈ now (see features/aggregate/tiles.ts):
 *
 *   hash    T:<width>:<start>    a tile [start, start + width)                  <version>|{feature: partial, …}
 *           S:<width>:<start>    a slice of a head tile, of one level           <version>|{feature: partial, …}
 *           P                    when the hash was last pruned (epoch ms)
 *   bucket  the raw events dated in [start, start + width), each as <time>:<topic>/<partition>/<offset>|<JSON
 *           of the fields read> followed by a newline, in the order they were written
 *
 * A tile or slice field holds every feature of one piece group (the view's features with one hop, or
 * whose head tiles are split into slices of one width), exactly as the PostgreSQL row holds them: one field
 * per piece rather than one per feature and piece, so a write sends (and the store keeps) a few times
 * fewer fields.
 *
 * Why raw events in buckets: a read at T folds only those of T's finest slice (rawEventsFrom), which lie
 * in a few buckets (rawEventBucketWidth: the view's finest slice, or a sixteenth of its widest, so one
 * bucket when its features share their finest slice). A write appends an entity's new events to each
 * bucket as one string (APPEND), and a bucket expires by itself once no T ≥ now − slack can read it
 * (bucketExpiry), so nothing prunes events. Earlier versions kept them in a sorted set
 * (`{Entity:key}:view:events`, scored by time), and before that in the hash (`E:<time>:<position>`): a
 * sorted set costs Redis a skiplist and dictionary entry per event, and the script a Lua string per member
 * and score: with buckets, Redis's CPU per event in the bench fell from 8.5–10.1 µs to 3.3–4.9
 * (docs/benchmarks.md). The gateway still reads both older forms, and writes prune them as they age out,
 * so an upgrade loses no event.
 *
 * Why a hash of pieces rather than one value: a batch touches a few tiles of an entity, and each is written
 * with its absolute merged partial as committed in PostgreSQL, not by re-sending the whole state.
 *
 * Writes are idempotent, yet safe in any order: a tile or slice carries the version its PostgreSQL row got
 * at that merge (incremented by every merge), and a field is written only when absent or older. Two
 * materializers writing one merchant's tiles in either order, a replay, or a rebuild from PostgreSQL all
 * leave the newest partial. A raw event never changes, and its position (topic, partition, offset) names
 * it. A commit appends only events no commit had archived before; a write rebuilt from PostgreSQL (an
 * outbox flush, a restart's re-sync, a rebuild, a backfill: `replay`) appends only the members its buckets
 * do not hold (the writer reads them first: withoutHeld). Should an event still be held twice (two
 * writers racing, a bucket and the sorted set of an earlier version, or inputs that changed with the view),
 * the reader takes it once, the later copy (bucketMembers).
 *
 * Pruning keeps the hash bounded: at most once per `everyMs` a write deletes pieces no T ≥ now − slack can
 * read (per group: tiles before its retention, slices before its head tiles; events of earlier layouts
 * before the slack) and pieces of widths no group has any more; a hash's first write (no prune time yet)
 * judges only the fields it writes, leaving out those, and an earlier version's fields wait for the next
 * prune. Fields in the per-feature layout of
 * Skewless before 0.8 (`T:<feature>:<start>`) are left for `skewless rebuild-online` to replace (the gateway
 * refuses to read a hash that still has them: ONLINE_LAYOUT_OUTDATED). The hash also expires once no window
 * could reach its newest piece, so an entity that goes quiet leaves nothing behind. A missing hash reads as
 * no events, which is exactly what every window holds by then.
 */
import { floorHop } from '../features/windows.ts';
import type { EventRange, OnlineKey } from './types.ts';

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
  /** Raw events dated before this go (those of the sorted set earlier versions kept). */
  readonly eventFrom: number;
  /** The width of the buckets raw events are kept in (rawEventBucketWidth). */
  readonly eventBucketMs: number;
  /** The view's finest widths (rawEventWidths): when reads stop reaching a bucket (bucketExpiry). */
  readonly eventWidths: readonly number[];
  /** How far behind the writer's clock a read's T may be (ONLINE_CLOCK_SLACK_MS). */
  readonly eventSlackMs: number;
  /**
   * The hash expires at least this long after its last write, and at most `everyMs` longer (0: never),
   * ms. Its expiry is set when a write prunes, not at every write (with the prune time read along with
   * the fields, Redis spent 27.2 instead of 28.9 µs per hash write in a harness, docs/benchmarks.md).
   */
  readonly expireMs: number;
}

/** A raw event kept online: its time and its member, `<time>:<position>|<json>`. */
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
  /**
   * The events were read back from PostgreSQL (an outbox flush, a rebuild, a backfill), so a bucket may
   * already hold some: only the members it lacks are appended (withoutHeld).
   */
  readonly replay?: boolean;
}

export const PRUNED_AT = 'P';

export const tileField = (width: number, start: number): string => `T:${width}:${start}`;
export const sliceField = (width: number, start: number): string => `S:${width}:${start}`;
/** The sorted set earlier versions kept an aggregation hash's raw events in: still read and pruned. */
export const eventsKey = (hashKey: string): string => `${hashKey}:events`;
/**
 * A glob (SCAN MATCH, KEYS) for every key holding an aggregation hash's raw events: its buckets and the
 * sorted set of earlier versions. The hash key's own glob characters are escaped.
 */
export const eventKeysPattern = (hashKey: string): string => `${hashKey.replace(/[*?[\]\\]/g, '\\$&')}:events*`;
/** The bucket of an aggregation hash's raw events dated in [start, start + width). */
export const eventBucketKey = (hashKey: string, width: number, start: number): string => `${hashKey}:events:${width}:${start}`;

/** The buckets holding raw events dated in [from, to): for a read, one or a few (rawEventBucketWidth). */
export function eventBucketKeys(hashKey: string, range: EventRange): string[] {
  const keys: string[] = [];
  for (let start = floorHop(range.from, range.bucketMs); start < range.to; start += range.bucketMs) keys.push(eventBucketKey(hashKey, range.bucketMs, start));
  return keys;
}

/**
 * Each event of the given buckets (and of an earlier version's sorted set) once: two members with one
 * `<time>:<position>` are one event, whose inputs may differ only if the view's changed between the two
 * writes (the later is kept). A bucket's text is its members, each followed by a newline (JSON text has
 * none of its own; a topic name cannot hold one).
 */
export function bucketMembers(legacy: readonly string[], buckets: readonly (string | null)[]): string[] {
  const byEvent = new Map<string, string>();
  const add = (member: string) => byEvent.set(eventName(member), member);
  for (const member of legacy) add(member);
  for (const text of buckets) if (text !== null) eachMember(text, add);
  return [...byEvent.values()];
}

/** What names a member's event: `<time>:<topic>/<partition>/<offset>`, all before its first `|`. */
const eventName = (member: string): string => member.slice(0, member.indexOf('|'));

/** Calls `fn` with each member of a bucket's text, in order. */
export function eachMember(text: string, fn: (member: string) => void): void {
  let start = 0;
  for (let end = text.indexOf('\n'); end !== -1; start = end + 1, end = text.indexOf('\n', start)) fn(text.slice(start, end));
}

/**
 * A replay without the members its buckets already hold (`held`: their texts, as read). A member whose
 * inputs differ from the held one (the view changed since) is kept, and the reader takes the later copy.
 * Read and write are not atomic: a writer appending in between can only leave a member twice, never miss one.
 */
export function withoutHeld(write: PiecesWrite, held: readonly (string | null)[]): PiecesWrite {
  const have = new Set<string>();
  for (const text of held) if (text !== null) eachMember(text, (member) => have.add(member));
  return have.size === 0 ? write : { ...write, events: write.events.filter((e) => !have.has(e.member)) };
}

/** The bucket keys a write's events go to (liveBuckets). */
export function writeBucketKeys(hash: string, write: PiecesWrite): string[] {
  return liveBuckets(write).map((b) => eventBucketKey(hash, write.prune.eventBucketMs, b.start));
}

/**
 * The parts as one flat string. `+` and template literals build a rope (a tree of the parts), and ioredis
 * measures every argument's UTF-8 length before sending it, which first copies a rope into a flat string;
 * `join` builds the flat string at once. Measured on members and piece values as a commit sends them:
 * about 0.5 µs less per event of the materializer's CPU (docs/benchmarks.md).
 */
const flat = (...parts: (string | number)[]): string => parts.join('');

/** A raw event as a bucket keeps it; its position makes the member unique. */
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
export function applyPiecesWrite(hash: Map<string, string>, events: Map<string, OnlineEvent>, write: PiecesWrite): number {
  // One member per event, the last written: what Redis's reader makes of its buckets (bucketMembers).
  for (const event of write.events) events.set(eventName(event.member), event);
  const { prune } = write;
  const stamp = hash.get(PRUNED_AT);
  // Never pruned: the hash holds only what this write keeps, so the prune judges the written fields alone.
  const first = stamp === undefined;
  const due = prune.now - Number(stamp ?? 0) >= prune.everyMs;
  // Only a first write or a prune judges fields.
  const rules = first || due ? new Map(prune.pieces.map((r) => [`${r.kind}:${r.width}`, r.from])) : new Map<string, number>();
  let written = 0;
  for (const field of write.fields) {
    const current = pieceVersion(hash.get(field.name));
    const next = pieceVersion(field.value)!;
    if (current === undefined || current < next) {
      if (!(first && prunes(rules, prune.eventFrom, field.name))) hash.set(field.name, field.value);
      written++;
    }
  }
  if (write.dropOutdated === true) for (const name of [...hash.keys()]) if (isOutdatedPieceField(name)) hash.delete(name);
  if (due) {
    if (!first) for (const name of [...hash.keys()]) if (prunes(rules, prune.eventFrom, name)) hash.delete(name);
    for (const [name, event] of events) if (event.time < prune.eventFrom) events.delete(name);
    hash.set(PRUNED_AT, String(prune.now));
  }
  return written;
}

/**
 * Whether a prune deletes the field: a tile or slice before its group's bound (`rules`, by `<kind>:<width>`)
 * or of a width no group has, or a raw event kept in the hash by earlier versions dated before `eventFrom`.
 */
function prunes(rules: ReadonlyMap<string, number>, eventFrom: number, name: string): boolean {
  const piece = parsePieceField(name);
  if (piece === undefined) return false;
  if (piece.kind === 'E') return piece.time < eventFrom;
  const from = rules.get(`${piece.kind}:${piece.width}`);
  return from === undefined || piece.start < from;
}

/**
 * Writes one WRITE_PIECES_LUA call may carry. A script blocks Redis while it runs: a call of this many
 * hashes (a few hundred fields) takes 2–4 ms of Redis's time. Measured on 5,300 hashes as one commit
 * writes them, the writer spent 21–41 µs of CPU per hash against 41–85 with one call per hash, and Redis
 * 18–35 against 24–44 µs (docs/benchmarks.md).
 */
export const PIECES_WRITES_PER_CALL = 100;

/**
 * What the writes of one call must share: the prune rules, dropOutdated and whether the view may still
 * have sorted sets of an earlier version (`setsLeft`: not marked, stores/redis/sorted-sets.ts), as
 * WRITE_PIECES_LUA's first argument, `<now> <everyMs> <expireMs> <eventFrom> <0|1> <0|1>` then
 * ` <T|S>:<width>:<from>` per rule.
 */
export function piecesHeader(write: PiecesWrite, setsLeft: boolean): string {
  const { prune } = write;
  let header = `${prune.now} ${prune.everyMs} ${prune.expireMs} ${prune.eventFrom} ${write.dropOutdated === true ? 1 : 0} ${setsLeft ? 1 : 0}`;
  for (const r of prune.pieces) header += ` ${r.kind}:${r.width}:${r.from}`;
  return header;
}

/**
 * When a bucket [start, start + width) stops being read, by the writer's clock: once every T ≥ now − slack
 * starts its raw events (rawEventsFrom: the earliest of the view's finest slices holding T) at or after
 * the bucket's end, that is from the first start of each finest width at or after the end, plus the slack.
 */
export function bucketExpiry(prune: PruneBounds, start: number): number {
  const end = start + prune.eventBucketMs;
  let at = end;
  for (const width of prune.eventWidths) at = Math.max(at, floorHop(end - 1, width) + width);
  return at + prune.eventSlackMs;
}

/** A write's raw events of one bucket: its start, its expiry from now (ms), its members each followed by a newline. */
export interface EventBucket {
  readonly start: number;
  readonly ttl: number;
  readonly text: string;
}

/**
 * A write's members by bucket, buckets in the order of their first event, each with its expiry from now. A
 * bucket that would already have expired (a replay of old events) is left out: no read can reach it.
 */
function liveBuckets(write: PiecesWrite): { start: number; ttl: number; members: string[] }[] {
  const { eventBucketMs: width, now } = write.prune;
  const members = new Map<number, string[]>();
  // An entity's events of one write most often share a bucket: a lookup only where the bucket changes.
  let start = NaN;
  let list: string[] = [];
  for (const event of write.events) {
    const at = floorHop(event.time, width);
    if (at !== start) {
      start = at;
      let found = members.get(at);
      if (found === undefined) members.set(at, (found = []));
      list = found;
    }
    list.push(event.member);
  }
  const out: { start: number; ttl: number; members: string[] }[] = [];
  for (const [at, list] of members) {
    const ttl = bucketExpiry(write.prune, at) - now;
    if (ttl > 0) out.push({ start: at, ttl, members: list });
  }
  return out;
}

/** A write's raw events by bucket, as the script appends them (liveBuckets); each text flat (`join`, see flat). */
export function eventBuckets(write: PiecesWrite): EventBucket[] {
  return liveBuckets(write).map(({ start, ttl, members }) => {
    members.push('');
    return { start, ttl, text: members.join('\n') };
  });
}

/**
 * The keys and arguments of one WRITE_PIECES_LUA call for writes sharing `header`, each with its hash's
 * key. KEYS per write: its hash, the sorted set of earlier versions, its buckets. ARGV: the header, then
 * per write its number of fields, the (name, value) pairs, its number of buckets, the (expiry, text) pairs.
 */
export function piecesScriptCall(header: string, writes: readonly { readonly hash: string; readonly write: PiecesWrite }[]): { keys: string[]; args: (string | number)[] } {
  const keys: string[] = [];
  const args: (string | number)[] = [header];
  for (const { hash, write } of writes) {
    keys.push(hash, eventsKey(hash));
    args.push(write.fields.length);
    for (const field of write.fields) args.push(field.name, field.value);
    const buckets = eventBuckets(write);
    args.push(buckets.length);
    for (const bucket of buckets) {
      keys.push(eventBucketKey(hash, write.prune.eventBucketMs, bucket.start));
      args.push(bucket.ttl, bucket.text);
    }
  }
  return { keys, args };
}

/** Fields per HMGET and per HSET inside WRITE_PIECES_LUA: well under what Lua's `unpack` can spread (about 8,000 values). */
const FIELDS_PER_REDIS_CALL = 1000;

/**
 * Lua for pieces writes, atomic per hash, any number of hashes per call (piecesScriptCall gives its keys and
 * arguments). Same rules as applyPiecesWrite. Returns, per write, the number of fields written. Epoch ms
 * and versions fit exactly in Lua's doubles.
 *
 * Each redis.call costs Redis about as much again as the command itself, so a write makes as few as it
 * can. A hash this version never pruned (no P field: most often a new one) is written with its prune
 * time in one HSET, without the fields a prune would delete, and without reading its field names back; its
 * buckets are most likely new too, so each is first SET with its expiry (NX) and appended to only if it
 * exists. A new entity's hash took 4 calls instead of 8 (docs/benchmarks.md).
 */
export const WRITE_PIECES_LUA = `
local nowText, every, expireText, eventFrom, dropOutdated, setsLeft, ruleText = string.match(ARGV[1], '^(%-?%d+) (%d+) (%d+) (%-?%d+) ([01]) ([01])(.*)$')
local now, expire = tonumber(nowText), tonumber(expireText)
every, eventFrom, dropOutdated, setsLeft = tonumber(every), tonumber(eventFrom), dropOutdated == '1', setsLeft == '1'
-- Set when a write prunes (at most every \`every\` ms): at least \`expire\` after any write.
local ttl = string.format('%.0f', expire + every)
local rules = nil
-- Whether a prune deletes the field: a tile or slice before its group's bound or of a width no group has,
-- or a raw event (as the hash kept them before buckets) dated before eventFrom.
local function stale(name)
  if rules == nil then
    rules = {}
    for rule, from in string.gmatch(ruleText, ' ([TS]:%d+):(%-?%d+)') do rules[rule] = tonumber(from) end
  end
  local kind, width, b = string.match(name, '^([TSE]):(.*):([^:]*)$')
  if kind == 'E' then
    local time = tonumber(string.match(name, '^E:(%-?%d+):'))
    return time ~= nil and time < eventFrom
  elseif kind and string.match(width, '^%d+$') then
    local from = rules[kind .. ':' .. width]
    local start = tonumber(b)
    return from == nil or (start ~= nil and start < from)
  end
  return false
end
-- From a hash's prune time as read (false when absent): whether it was never pruned, and whether it is due.
local function stamped(stamp)
  return not stamp, now - (tonumber(stamp or '0') or 0) >= every
end
local results = {}
local a = 2
local k = 1
while k <= #KEYS do
  local key, events = KEYS[k], KEYS[k + 1]
  k = k + 2
  local last = a + 1 + 2 * tonumber(ARGV[a])
  a = a + 1
  local written = 0
  -- When the hash was last pruned, read with the first HMGET (or alone when the write has no fields):
  -- \`first\` when never, \`due\` when a prune is.
  local pruned, first, due = nil, false, false
  -- One HMGET and one HSET per ${FIELDS_PER_REDIS_CALL} fields rather than an HGET and an HSET per field. A
  -- field named twice compares with what it was just given.
  while a < last do
    local stop = math.min(last, a + ${2 * FIELDS_PER_REDIS_CALL})
    local names = {}
    for i = a, stop - 1, 2 do names[#names + 1] = ARGV[i] end
    local count = #names
    local head = pruned == nil
    if head then names[count + 1] = '${PRUNED_AT}' end
    local current = redis.call('HMGET', key, unpack(names))
    if head then
      pruned = current[count + 1]
      first, due = stamped(pruned)
    end
    local set, given = {}, {}
    for j = 1, count do
      local name, value = names[j], ARGV[a + 2 * j - 1]
      local held = given[name] or current[j]
      local cv = held and tonumber(string.match(held, '^(%d+)|'))
      if not cv or cv < tonumber(string.match(value, '^(%d+)|')) then
        written = written + 1
        given[name] = value
        -- Counted as written, as a prune right after would have deleted it.
        if not (first and stale(name)) then
          set[#set + 1] = name
          set[#set + 1] = value
        end
      end
    end
    if head and due then
      set[#set + 1] = '${PRUNED_AT}'
      set[#set + 1] = nowText
    end
    if #set > 0 then redis.call('HSET', key, unpack(set)) end
    a = stop
  end
  if pruned == nil then
    pruned = redis.call('HGET', key, '${PRUNED_AT}')
    first, due = stamped(pruned)
    if due then redis.call('HSET', key, '${PRUNED_AT}', nowText) end
  end
  -- Raw events: appended to their buckets. A bucket this write creates gets its expiry; one that exists
  -- keeps the one it got then.
  local buckets = tonumber(ARGV[a])
  a = a + 1
  for b = 1, buckets do
    local bucket, expiry, text = KEYS[k], ARGV[a], ARGV[a + 1]
    if first then
      if not redis.call('SET', bucket, text, 'PX', expiry, 'NX') then redis.call('APPEND', bucket, text) end
    elseif redis.call('APPEND', bucket, text) == #text then
      redis.call('PEXPIRE', bucket, expiry)
    end
    k = k + 1
    a = a + 2
  end
  if dropOutdated then
    for _, name in ipairs(redis.call('HKEYS', key)) do
      if string.match(name, '^[TS]:') and not string.match(name, '^[TS]:%d+:%-?%d+$') then redis.call('HDEL', key, name) end
    end
  end
  if due then
    -- A hash never pruned holds only what this write kept, unless an earlier version wrote it.
    if not first then
      local gone = {}
      for _, name in ipairs(redis.call('HKEYS', key)) do
        if stale(name) then gone[#gone + 1] = name end
        if #gone == ${FIELDS_PER_REDIS_CALL} then
          redis.call('HDEL', key, unpack(gone))
          gone = {}
        end
      end
      if #gone > 0 then redis.call('HDEL', key, unpack(gone)) end
    end
    -- The sorted set of earlier versions empties (and so goes) as its events age out; none is left once
    -- the view is marked (stores/redis/sorted-sets.ts).
    if setsLeft then redis.call('ZREMRANGEBYSCORE', events, '-inf', '(' .. eventFrom) end
    if expire > 0 then redis.call('PEXPIRE', key, ttl) end
  end
  results[#results + 1] = written
end
return results
`;
