import type { Redis } from '@upstash/redis/cloudflare'
import { decodeRecord, encodeRecord } from '../cache/entry-codec'
import type { PurgeSettings } from '../config/schema'
import { base64ToBytes, bytesToBase64 } from '../l2/base64'
import { LUA_MARK_PURGE } from '../l2/fence'
import type { RegionalL2 } from '../l2/regional-l2'
import { withDeadline } from '../lib/with-deadline'
import { MAX_PURGE_LOG_BYTES, softened, type PurgeRecord } from './view'

/*
 * The purge log, one per region: a capped Redis stream `${keyPrefix}purges` whose entries carry one
 * field `p`, the PurgeRecord as JSON. Stream ids are `<ms>-<seq>`, so an isolate starting up reads
 * from `now - horizon` and then from the last id it saw. Each purge is also PUBLISHed on the channel
 * of the same name as `{"id": <stream id>, "p": <record>}`, for the region's PurgeFeed object
 * (durable-objects/purge-feed.ts), which holds the subscription a Worker isolate cannot, and which
 * isolates read instead of the log when the PURGE_FEED binding is there.
 * `${keyPrefix}pa:<id>` marks a purge applied in that region (GET /_cache/purge/:id reads it).
 */

/** Glob-escapes a key prefix for SCAN MATCH (in Lua). */
const LUA_ESCAPE = `local function escape(s) return (string.gsub(s, '([%*%?%[%]\\\\])', '\\\\%1')) end`

/** Entries deleted (or SCAN slots visited) per script call: one batch blocks a region for a few ms. */
export const PURGE_BATCH = 500

/**
 * Lua: `step(rec, cursors)` deletes the next batch of a hard purge's tag members and prefix matches,
 * at most PURGE_BATCH keys in all. `cursors` holds one SCAN cursor per prefix ('0' to start, 'done'
 * when finished). Returns deleted, more ('1' while anything is left), then the cursors to go on from.
 * Needs `p` (the key prefix) and `escape` in scope.
 */
const LUA_STEP = `
local function step(rec, cursors)
  local budget = ${PURGE_BATCH}
  local deleted = 0
  local more = '0'
  for _, t in ipairs(rec.tags) do
    local index = p .. 'tz:' .. t
    if budget > 0 then
      local members = redis.call('ZRANGE', index, 0, budget - 1)
      if #members > 0 then
        deleted = deleted + redis.call('DEL', unpack(members))
        redis.call('ZREM', index, unpack(members))
        budget = budget - #members
      end
    end
    if redis.call('EXISTS', index) == 1 then more = '1' end
  end
  local after = {}
  for i, pre in ipairs(rec.prefixes) do
    local cursor = cursors[i] or '0'
    if cursor ~= 'done' and budget > 0 then
      local count = math.min(budget, ${PURGE_BATCH})
      local page = redis.call('SCAN', cursor, 'MATCH', p .. 'e:' .. escape(pre) .. '*', 'COUNT', count)
      budget = budget - count
      if #page[2] > 0 then deleted = deleted + redis.call('DEL', unpack(page[2])) end
      cursor = page[1] == '0' and 'done' or page[1]
    end
    if cursor ~= 'done' then more = '1' end
    after[#after + 1] = cursor
  end
  return deleted, more, after
end
`

/**
 * Records a purge in one region's log, sets its fence markers (fence.ts) and, when hard, deletes its
 * keys and the first batch of its tags' and prefixes' entries, atomically in one round trip; the rest
 * goes in further batches (CONTINUE_PURGE). The applied marker is set once nothing is left.
 * KEYS[1] the log stream, KEYS[2] the applied marker
 * ARGV[1] the record (JSON)  ARGV[2] most records in the log  ARGV[3] key prefix
 * ARGV[4] horizon (s, TTL of the log and the marker)
 * ARGV[5] '1': apply here (hard purge); '0': record only (a soft purge is applied by the Worker)
 * ARGV[6] '1': skip if the marker exists (a catch-up replay)  ARGV[7] most bytes in the log
 * A hard purge of exactly one key replaces the log's last such record of that key (the new one is
 * later, so it voids all the old one did): write-heavy URLs cost the log one record each.
 * Returns { stream id or false, entries deleted, '1' if more batches are due, cursors... }.
 */
export const RECORD_PURGE = `${LUA_ESCAPE}
local p = ARGV[3]
${LUA_MARK_PURGE}
${LUA_STEP}
if ARGV[6] == '1' and redis.call('EXISTS', KEYS[2]) == 1 then return {false, 0, '0'} end
local rec = cjson.decode(ARGV[1])
local id = redis.call('XADD', KEYS[1], '*', 'p', ARGV[1])
-- The log's bytes (records' JSON), kept beside it, and the last single-key record of each key.
local bytesKey = KEYS[1] .. ':bytes'
local lastKey = KEYS[1] .. ':last'
local bytes = redis.call('INCRBY', bytesKey, #ARGV[1])
if ARGV[5] == '1' and #rec.keys == 1 and #rec.tags == 0 and #rec.prefixes == 0 then
  -- Repeated hard purges of one key merge: the new record replaces the last one (it is later).
  local old = redis.call('HGET', lastKey, rec.keys[1])
  if old then
    local gone = redis.call('XRANGE', KEYS[1], old, old)
    if #gone == 1 then
      redis.call('XDEL', KEYS[1], old)
      bytes = redis.call('INCRBY', bytesKey, -#gone[1][2][2])
    end
  end
  redis.call('HSET', lastKey, rec.keys[1], id)
  if redis.call('HLEN', lastKey) > tonumber(ARGV[2]) then redis.call('DEL', lastKey) end
end
-- Bounded by records and by bytes, oldest first (a few per call: every call trims).
local trimmed = 0
while trimmed < 100 and (redis.call('XLEN', KEYS[1]) > tonumber(ARGV[2]) or bytes > tonumber(ARGV[7])) do
  local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
  if #first == 0 or first[1][1] == id then break end
  redis.call('XDEL', KEYS[1], first[1][1])
  bytes = redis.call('INCRBY', bytesKey, -#(first[1][2][2] or ''))
  trimmed = trimmed + 1
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', bytesKey, ARGV[4])
redis.call('EXPIRE', lastKey, ARGV[4])
redis.call('PUBLISH', KEYS[1], '{"id":"' .. id .. '","p":' .. ARGV[1] .. '}')
mark(tonumber(rec.at), rec.keys, rec.tags, rec.prefixes)
if ARGV[5] ~= '1' then return {id, 0, '0'} end
local deleted = 0
for _, k in ipairs(rec.keys) do deleted = deleted + redis.call('DEL', p .. 'e:' .. k) end
local more, cursors
local stepped
stepped, more, cursors = step(rec, {})
deleted = deleted + stepped
if more == '0' then redis.call('SET', KEYS[2], id, 'EX', ARGV[4]) end
local out = {id, deleted, more}
for _, c in ipairs(cursors) do out[#out + 1] = c end
return out
`

/**
 * The next batch of a hard purge (RECORD_PURGE's continuation). KEYS[1] the applied marker
 * ARGV[1] the record  ARGV[2] key prefix  ARGV[3] horizon (s)  ARGV[4] the stream id  ARGV[5...]
 * cursors. Returns { entries deleted, '1' if more batches are due, cursors... }.
 */
export const CONTINUE_PURGE = `${LUA_ESCAPE}
local p = ARGV[2]
${LUA_STEP}
local rec = cjson.decode(ARGV[1])
local cursors = {}
for i = 5, #ARGV do cursors[#cursors + 1] = ARGV[i] end
local deleted, more, after = step(rec, cursors)
if more == '0' then redis.call('SET', KEYS[1], ARGV[4], 'EX', ARGV[3]) end
local out = {deleted, more}
for _, c in ipairs(after) do out[#out + 1] = c end
return out
`

/**
 * The entry keys a soft purge touches: its keys and their variants, its tags' members, its prefixes
 * (SCAN, bounded). ARGV[1] the record  ARGV[2] key prefix  ARGV[3] most keys visited per SCAN.
 */
export const COLLECT_PURGED = `${LUA_ESCAPE}
local rec = cjson.decode(ARGV[1])
local p = ARGV[2]
local found = {}
local budget = tonumber(ARGV[3])
local function scan(pattern)
  local cursor = '0'
  repeat
    local page = redis.call('SCAN', cursor, 'MATCH', pattern, 'COUNT', 1000)
    cursor = page[1]
    budget = budget - 1000
    for _, key in ipairs(page[2]) do found[#found + 1] = key end
  until cursor == '0' or budget <= 0
end
for _, k in ipairs(rec.keys) do
  found[#found + 1] = p .. 'e:' .. k
  scan(p .. 'e:' .. escape(k) .. '\\n*')
end
for _, t in ipairs(rec.tags) do
  for _, key in ipairs(redis.call('ZRANGE', p .. 'tz:' .. t, 0, -1)) do found[#found + 1] = key end
end
for _, pre in ipairs(rec.prefixes) do scan(p .. 'e:' .. escape(pre) .. '*') end
return found
`

/** Rewrites entries in place, keeping their TTL; ARGV: key, value, key, value... (only existing keys). */
const REWRITE = `for i = 1, #ARGV, 2 do redis.call('SET', ARGV[i], ARGV[i + 1], 'KEEPTTL', 'XX') end
return #ARGV / 2`

/** One batch's outcome: entries deleted, whether more are due, and the prefix SCAN cursors. */
interface Batch {
  readonly deleted: number
  readonly more: boolean
  readonly cursors: readonly string[]
}

/** Batches per purge and region at most: 10,000 × PURGE_BATCH keys (a bound, not a target). */
const MAX_BATCHES = 10_000

/** One record of a region's log with its stream id. */
export interface LogEntry {
  readonly id: string
  readonly record: PurgeRecord
}

/**
 * A page of a region's purge log as its PurgeFeed object answers: `asOf` is the instant the feed
 * holds every record before (undefined: as of the read itself); `ok: false` when the region failed.
 */
export type FeedPage =
  | {
      readonly ok: true
      readonly last: string | undefined
      readonly records: PurgeRecord[]
      readonly asOf?: number
    }
  | { readonly ok: false; readonly error: string }

/** The PURGE_FEED binding: one PurgeFeed object per region (durable-objects/purge-feed.ts). */
export interface PurgeFeedPort {
  read(region: string, after: string | undefined, count: number): Promise<FeedPage>
}

export interface RegionOutcome {
  readonly region: string
  readonly ok: boolean
  readonly error?: string
}

export class PurgeLog {
  readonly streamKey: string

  constructor(
    private readonly l2: RegionalL2,
    private readonly keyPrefix: string,
    private readonly settings: PurgeSettings,
    /** The region's feed object, read instead of the log when given (undefined: the log itself). */
    private readonly feed?: {
      readonly object: (region: string) => PurgeFeedPort
      /** How long a read waits for the object (longer than the object's own call to its region). */
      readonly deadlineMs: number
    }
  ) {
    this.streamKey = `${keyPrefix}purges`
  }

  get regions(): readonly string[] {
    return this.l2.router.regions
  }

  appliedKey(id: string): string {
    return `${this.keyPrefix}pa:${id}`
  }

  /**
   * Records (and, when hard, applies) the purge in every region, breakers notwithstanding: a purge
   * is worth a call to a region that reads avoid (a region that is down fails fast, or within the
   * write deadline). A region counts as reached once its log, fence markers and the purge's keys are
   * done; the batches left of big tags and prefixes, and soft purges' L2 rewrites, are returned as
   * `pending` work (the fences and every view already refuse what they will delete).
   */
  async publish(
    home: string,
    record: PurgeRecord
  ): Promise<{ outcomes: RegionOutcome[]; pending: Promise<unknown> }> {
    const later: Promise<unknown>[] = []
    const outcomes = await Promise.all(
      this.regions.map(async (region): Promise<RegionOutcome> => {
        try {
          const recorded = await this.#recordIn(home, region, record, false)
          if (recorded.id && recorded.more)
            later.push(this.#finish(home, region, record, recorded.id, recorded).catch(() => {}))
          if (record.soft) later.push(this.softApply(home, region, record).catch(() => {}))
          return { region, ok: true }
        } catch (error) {
          return { region, ok: false, error: String(error) }
        }
      })
    )
    return { outcomes, pending: Promise.all(later) }
  }

  /** Catch-up: records and applies a purge in one region that missed it (a no-op if it has it). */
  async replay(home: string, region: string, record: PurgeRecord): Promise<void> {
    const recorded = await this.#recordIn(home, region, record, true)
    if (recorded.id && recorded.more)
      await this.#finish(home, region, record, recorded.id, recorded)
    if (recorded.id && record.soft) await this.softApply(home, region, record)
  }

  async #recordIn(
    home: string,
    region: string,
    record: PurgeRecord,
    replay: boolean
  ): Promise<Batch & { readonly id: string | undefined }> {
    const [id, deleted, more, ...cursors] = await this.l2.run(
      home,
      region,
      replay ? 'purge-replay' : 'purge',
      (redis) =>
        redis.eval<string[], [string | false | null, number, string, ...string[]]>(
          RECORD_PURGE,
          [this.streamKey, this.appliedKey(record.id)],
          [
            JSON.stringify(record),
            String(this.settings.maxLogEntries),
            this.keyPrefix,
            String(this.settings.horizonSeconds),
            record.soft ? '0' : '1',
            replay ? '1' : '0',
            String(MAX_PURGE_LOG_BYTES),
          ]
        )
    )
    return { id: id || undefined, deleted, more: more === '1', cursors }
  }

  /**
   * The rest of a hard purge in one region, one bounded batch per call (PURGE_BATCH keys), until
   * nothing is left; then the region's applied marker says so (GET /_cache/purge/:id).
   */
  async #finish(
    home: string,
    region: string,
    record: PurgeRecord,
    id: string,
    first: Batch
  ): Promise<number> {
    const json = JSON.stringify(record)
    let batch = first
    let deleted = first.deleted
    for (let calls = 0; batch.more && calls < MAX_BATCHES; calls++) {
      const [count, more, ...cursors] = await this.l2.run(home, region, 'purge-batch', (redis) =>
        redis.eval<string[], [number, string, ...string[]]>(
          CONTINUE_PURGE,
          [this.appliedKey(record.id)],
          [json, this.keyPrefix, String(this.settings.horizonSeconds), id, ...batch.cursors]
        )
      )
      batch = { deleted: count, more: more === '1', cursors }
      deleted += count
    }
    return deleted
  }

  /** A soft purge in one region: each entry it matches rewritten stale (stale-if-error kept). */
  async softApply(home: string, region: string, record: PurgeRecord): Promise<void> {
    const json = JSON.stringify(record)
    const keys = await this.l2.run(home, region, 'purge-collect', (redis) =>
      redis.eval<string[], string[]>(
        COLLECT_PURGED,
        [],
        [json, this.keyPrefix, String(this.settings.maxScanKeys)]
      )
    )
    const unique = [...new Set(keys)]
    for (let i = 0; i < unique.length; i += 200) {
      const batch = unique.slice(i, i + 200)
      const values = await this.l2.run(home, region, 'purge-read', (redis) =>
        redis.mget<(string | null)[]>(...batch)
      )
      const writes: string[] = []
      batch.forEach((key, j) => {
        const value = values[j]
        if (typeof value !== 'string') return
        try {
          const stored = decodeRecord(base64ToBytes(value))
          if (stored.kind !== 'response') return
          writes.push(key, bytesToBase64(encodeRecord(softened(stored, record.at))))
        } catch {
          // An unreadable entry is a miss anyway.
        }
      })
      if (writes.length > 0)
        await this.l2.run(home, region, 'purge-rewrite', (redis) => redis.eval(REWRITE, [], writes))
    }
    await this.l2.run(home, region, 'purge-mark', (redis) =>
      redis.set(this.appliedKey(record.id), '1', { ex: this.settings.horizonSeconds })
    )
  }

  /**
   * The records after stream id `after` in one region (at most `count`): from its feed object when
   * there is one (throwing, as the log would, when the region failed), else, or when the object
   * itself cannot be reached, from its log. `asOf`: the instant the answer holds every record before
   * (the feed's last confirmation; undefined: the read itself).
   */
  async read(
    home: string,
    region: string,
    after: string | undefined,
    count = 1000
  ): Promise<{ last: string | undefined; records: PurgeRecord[]; asOf?: number }> {
    if (this.feed !== undefined) {
      let page: FeedPage | undefined
      try {
        page = await withDeadline(
          this.feed.object(region).read(region, after, count),
          this.feed.deadlineMs,
          `purge feed ${region}`
        )
      } catch {
        // The object did not answer: read the log directly this time.
      }
      if (page !== undefined) {
        if (!page.ok) throw new Error(`purge feed ${region}: ${page.error}`)
        return page.asOf === undefined
          ? { last: page.last, records: page.records }
          : { last: page.last, records: page.records, asOf: page.asOf }
      }
    }
    const { last, entries } = await this.readLog(home, region, after, count)
    return { last, records: entries.map((entry) => entry.record) }
  }

  /** The entries after stream id `after` in one region's log itself (at most `count`). */
  async readLog(
    home: string,
    region: string,
    after: string | undefined,
    count = 1000
  ): Promise<{ last: string | undefined; entries: LogEntry[] }> {
    const start =
      after === undefined ? `${Date.now() - this.settings.horizonSeconds * 1000}-0` : `(${after}`
    const raw = await this.l2.run(home, region, 'purge-log', (redis: Redis) =>
      redis.exec<[string, string[]][] | null>([
        'XRANGE',
        this.streamKey,
        start,
        '+',
        'COUNT',
        count,
      ])
    )
    const entries: LogEntry[] = []
    let last = after
    for (const [id, fields] of raw ?? []) {
      last = id
      const value = fields[fields.indexOf('p') + 1]
      if (value === undefined) continue
      try {
        entries.push({ id, record: JSON.parse(value) as PurgeRecord })
      } catch {
        // Not ours: skip it (the scope validates what it learns, too).
      }
    }
    return { last, entries }
  }

  /**
   * Subscribes to one region's purge channel (server-sent events; a connection a Durable Object can
   * hold, a Worker isolate cannot); `onEntry` gets each purge published there.
   */
  subscribe(region: string, onEntry: (entry: LogEntry) => void) {
    const subscriber = this.l2.subscriber(region, region).subscribe<string>([this.streamKey])
    subscriber.on('message', ({ message }) => {
      try {
        const parsed = (typeof message === 'string' ? JSON.parse(message) : message) as {
          id?: unknown
          p?: unknown
        }
        if (typeof parsed.id === 'string' && typeof parsed.p === 'object' && parsed.p !== null) {
          onEntry({ id: parsed.id, record: parsed.p as PurgeRecord })
        }
      } catch {
        // Not ours.
      }
    })
    return subscriber
  }

  /** Per region: whether it has applied purge `id` (undefined: not reachable now). */
  async status(home: string, id: string): Promise<Record<string, boolean | undefined>> {
    const entries = await Promise.all(
      this.regions.map(async (region) => {
        try {
          const marker = await this.l2.run(home, region, 'purge-status', (redis) =>
            redis.exists(this.appliedKey(id))
          )
          return [region, marker > 0] as const
        } catch {
          return [region, undefined] as const
        }
      })
    )
    return Object.fromEntries(entries)
  }
}
