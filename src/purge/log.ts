import type { Redis } from '@upstash/redis/cloudflare'
import { decodeRecord, encodeRecord } from '../cache/entry-codec'
import type { PurgeSettings } from '../config/schema'
import { base64ToBytes, bytesToBase64 } from '../l2/base64'
import type { RegionalL2 } from '../l2/regional-l2'
import { softened, type PurgeRecord } from './view'

/*
 * The purge log, one per region: a capped Redis stream `${keyPrefix}purges` whose entries carry one
 * field `p`, the PurgeRecord as JSON. Stream ids are `<ms>-<seq>`, so an isolate starting up reads
 * from `now - horizon` and then from the last id it saw. Each purge is also PUBLISHed on the channel
 * of the same name for subscribers that can hold a connection (a Worker isolate cannot: it polls).
 * `${keyPrefix}pa:<id>` marks a purge applied in that region (GET /_cache/purge/:id reads it).
 */

/** Glob-escapes a key prefix for SCAN MATCH (in Lua). */
const LUA_ESCAPE = `local function escape(s) return (string.gsub(s, '([%*%?%[%]\\\\])', '\\\\%1')) end`

/**
 * Records a purge and, when hard, applies it, atomically in one round trip.
 * KEYS[1] the log stream, KEYS[2] the applied marker
 * ARGV[1] the record (JSON)  ARGV[2] log cap (MAXLEN ~)  ARGV[3] key prefix
 * ARGV[4] horizon (s, TTL of the log and the marker)  ARGV[5] most keys a prefix SCAN visits
 * ARGV[6] '1': apply here (hard purge); '0': record only (a soft purge is applied by the Worker)
 * ARGV[7] '1': skip if the marker exists (a catch-up replay)
 * Returns { stream id or false, entries deleted }.
 */
export const RECORD_PURGE = `${LUA_ESCAPE}
if ARGV[7] == '1' and redis.call('EXISTS', KEYS[2]) == 1 then return {false, 0} end
local rec = cjson.decode(ARGV[1])
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'p', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('PUBLISH', KEYS[1], ARGV[1])
local deleted = 0
if ARGV[6] ~= '1' then return {id, 0} end
local p = ARGV[3]
local function del(keys)
  for i = 1, #keys, 500 do
    deleted = deleted + redis.call('DEL', unpack(keys, i, math.min(i + 499, #keys)))
  end
end
for _, k in ipairs(rec.keys) do deleted = deleted + redis.call('DEL', p .. 'e:' .. k) end
for _, t in ipairs(rec.tags) do
  del(redis.call('SMEMBERS', p .. 't:' .. t))
  redis.call('DEL', p .. 't:' .. t)
end
local budget = tonumber(ARGV[5])
for _, pre in ipairs(rec.prefixes) do
  local cursor = '0'
  repeat
    local page = redis.call('SCAN', cursor, 'MATCH', p .. 'e:' .. escape(pre) .. '*', 'COUNT', 1000)
    cursor = page[1]
    budget = budget - 1000
    del(page[2])
  until cursor == '0' or budget <= 0
end
redis.call('SET', KEYS[2], id, 'EX', ARGV[4])
return {id, deleted}
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
  for _, key in ipairs(redis.call('SMEMBERS', p .. 't:' .. t)) do found[#found + 1] = key end
end
for _, pre in ipairs(rec.prefixes) do scan(p .. 'e:' .. escape(pre) .. '*') end
return found
`

/** Rewrites entries in place, keeping their TTL; ARGV: key, value, key, value... (only existing keys). */
const REWRITE = `for i = 1, #ARGV, 2 do redis.call('SET', ARGV[i], ARGV[i + 1], 'KEEPTTL', 'XX') end
return #ARGV / 2`

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
    private readonly settings: PurgeSettings
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
   * write deadline). Soft purges' L2 rewrites are returned as `pending` work.
   */
  async publish(
    home: string,
    record: PurgeRecord
  ): Promise<{ outcomes: RegionOutcome[]; pending: Promise<unknown> }> {
    const soft: Promise<unknown>[] = []
    const outcomes = await Promise.all(
      this.regions.map(async (region): Promise<RegionOutcome> => {
        try {
          await this.#recordIn(home, region, record, false)
          if (record.soft) soft.push(this.softApply(home, region, record).catch(() => {}))
          return { region, ok: true }
        } catch (error) {
          return { region, ok: false, error: String(error) }
        }
      })
    )
    return { outcomes, pending: Promise.all(soft) }
  }

  /** Catch-up: records and applies a purge in one region that missed it (a no-op if it has it). */
  async replay(home: string, region: string, record: PurgeRecord): Promise<void> {
    const [id] = await this.#recordIn(home, region, record, true)
    if (id && record.soft) await this.softApply(home, region, record)
  }

  #recordIn(
    home: string,
    region: string,
    record: PurgeRecord,
    replay: boolean
  ): Promise<[string | false | null, number]> {
    return this.l2.run(home, region, replay ? 'purge-replay' : 'purge', (redis) =>
      redis.eval<string[], [string | false | null, number]>(
        RECORD_PURGE,
        [this.streamKey, this.appliedKey(record.id)],
        [
          JSON.stringify(record),
          String(this.settings.maxLogEntries),
          this.keyPrefix,
          String(this.settings.horizonSeconds),
          String(this.settings.maxScanKeys),
          record.soft ? '0' : '1',
          replay ? '1' : '0',
        ]
      )
    )
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

  /** The records after stream id `after` in one region's log (at most `count`). */
  async read(
    home: string,
    region: string,
    after: string | undefined,
    count = 1000
  ): Promise<{ last: string | undefined; records: PurgeRecord[] }> {
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
    const records: PurgeRecord[] = []
    let last = after
    for (const [id, fields] of raw ?? []) {
      last = id
      const value = fields[fields.indexOf('p') + 1]
      if (value === undefined) continue
      try {
        records.push(JSON.parse(value) as PurgeRecord)
      } catch {
        // Not ours: skip it.
      }
    }
    return { last, records }
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
