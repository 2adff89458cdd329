import { Redis } from '@upstash/redis/cloudflare'
import type { StoredRecord } from '../cache/entry'
import { decodeRecord, encodeRecord, EntryCodecError } from '../cache/entry-codec'
import type { CacheTier, TierLookup } from '../cache/tier'
import type { L2Config } from '../config/load-config'
import { DeadlineExceeded, EdgeCacheError } from '../lib/errors'
import { log } from '../lib/log'
import { withDeadline } from '../lib/with-deadline'
import { base64ToBytes, bytesToBase64 } from './base64'
import { FENCED_WRITE } from './fence'
import type { BreakerState } from '../lib/circuit-breaker'
import { RegionRouter, type RegionStatus } from './region-router'

/** What L2 reports for metrics and logs. */
export interface L2Events {
  /** A read was answered by a region after an earlier one failed or timed out. */
  failover(from: string, region: string): void
  /** Every region is down or open: L2 was skipped. */
  degraded(operation: 'read' | 'write'): void
  breaker(region: string, state: BreakerState): void
  /** One successful read (GET) from a region, with its round trip. */
  read(region: string, seconds: number): void
  /** A region held a record that cannot be read (corrupt, invalid, another format): deleted there. */
  corrupt(region: string): void
}

export interface RegionProbe {
  readonly region: string
  readonly ok: boolean
  readonly latencyMs: number
  readonly state: RegionStatus['state']
  readonly rttMs: RegionStatus['rttMs']
  readonly minRttMs: RegionStatus['minRttMs']
  readonly error?: string
}

export interface RegionalL2 {
  readonly router: RegionRouter
  /** The L2 tier as a client in `home` sees it (reads nearest healthy first, fills go home). */
  tierFor(home: string): CacheTier
  /** Pings every region from `home` (health endpoint). */
  probe(home: string): Promise<RegionProbe[]>
  /** Refreshes the round-trip estimates from `home` at most every `probeIntervalMs`. */
  refreshEstimates(home: string): Promise<void> | undefined
  /**
   * One call to one region from `home` within the write deadline, feeding the router (its breaker and
   * round trips): for purges and the purge log, which speak to every region, not the nearest.
   */
  run<T>(home: string, region: string, what: string, fn: (redis: Redis) => Promise<T>): Promise<T>
  /**
   * One read-only call (INFO) to one region from `home` within `ms`, outside the router: its outcome
   * feeds no breaker and no round trip, so a region that refuses or delays it is not taken for down.
   */
  inspect<T>(home: string, region: string, ms: number, fn: (redis: Redis) => Promise<T>): Promise<T>
  /**
   * A client of `region` as seen from `from` with no deadline of its own, for a subscription (a
   * server-sent event stream that lasts as long as its holder).
   */
  subscriber(from: string, region: string): Redis
  /** The Redis key of an entry, and of a tag's set. */
  entryKey(key: string): string
  tagKey(tag: string): string
}

class L2Unavailable extends EdgeCacheError {
  static readonly code = 'E_L2_UNAVAILABLE'
  constructor(message: string) {
    super(L2Unavailable.code, message)
    this.name = 'L2Unavailable'
  }
}

const NO_EVENTS: L2Events = { failover() {}, degraded() {}, breaker() {}, read() {}, corrupt() {} }

/**
 * L2: one Upstash Redis per region behind a RegionRouter. Entries are the entry codec's bytes
 * (base64: the REST API carries JSON strings) with a hard TTL plus jitter, written by one fenced
 * script (fence.ts: a purge newer than the fill's fetch refuses it) that also indexes the entry under
 * its tags (a sorted set per tag, bounded). Every call has a deadline; a failing region is failed
 * over on reads and skipped on writes, and when all are down L2 is skipped: it only ever degrades.
 */
export function createRegionalL2(
  config: L2Config,
  options: { simulation: boolean; events?: L2Events; random?: () => number }
): RegionalL2 {
  const events = options.events ?? NO_EVENTS
  const random = options.random ?? Math.random
  const router = new RegionRouter(
    config.regions.map((region) => region.name),
    config,
    (region, state) => {
      log.warn('l2_breaker', { region, state })
      events.breaker(region, state)
    }
  )
  const clients = new Map<string, Redis>()
  const lastProbe = new Map<string, number>()

  /** Where `region` is reached from `from`: per (client region, region) when simulated. */
  function endpoint(from: string, region: string): { url: string; token: string } {
    const { url, token } = config.regions.find((candidate) => candidate.name === region)!
    return { url: options.simulation ? `${url.replace(/\/$/, '')}/from/${from}` : url, token }
  }

  /** One client per region; per (client region, region) when simulated, so the latency matrix applies. */
  function client(from: string, region: string): Redis {
    const id = options.simulation ? `${from} ${region}` : region
    let redis = clients.get(id)
    if (!redis) {
      redis = new Redis({
        ...endpoint(from, region),
        // Failover is ours, within the read deadline: the client must neither retry nor batch
        // (auto-pipelining would share one fetch across requests, which Workers forbids).
        retry: false,
        enableAutoPipelining: false,
        automaticDeserialization: false,
        enableTelemetry: false,
        readYourWrites: false,
        signal: () => AbortSignal.timeout(Math.max(config.timeoutMs, config.writeTimeoutMs)),
      })
      clients.set(id, redis)
    }
    return redis
  }

  const entryKey = (key: string) => `${config.keyPrefix}e:${key}`
  const tagKey = (tag: string) => `${config.keyPrefix}tz:${tag}`

  /** Runs one call against one region within `ms`, feeding the router. */
  async function call<T>(
    from: string,
    region: string,
    ms: number,
    what: string,
    run: (redis: Redis) => Promise<T>
  ): Promise<T> {
    const started = Date.now()
    try {
      const result = await withDeadline(run(client(from, region)), ms, `L2 ${what} ${region}`)
      router.record(from, region, { ok: true, latencyMs: Date.now() - started }, Date.now())
      return result
    } catch (error) {
      const latencyMs = Date.now() - started
      router.record(
        from,
        region,
        { ok: false, latencyMs, slow: error instanceof DeadlineExceeded },
        Date.now()
      )
      log.warn('l2_failure', { region, from, operation: what, latencyMs, error })
      throw error
    }
  }

  /**
   * A region's own deadline: `timeoutMs`, or twice its measured round trip when that is longer, so a
   * far region (200 ms across the world) can still answer a failover read within the read deadline.
   */
  function attemptTimeout(from: string, region: string): number {
    const rtt = router.rtt(from, region)
    return rtt === undefined ? config.timeoutMs : Math.max(config.timeoutMs, Math.ceil(2 * rtt))
  }

  async function read(home: string, key: string): Promise<TierLookup<StoredRecord> | undefined> {
    const started = Date.now()
    const order = router.readOrder(home, started)
    if (order.length === 0) {
      events.degraded('read')
      throw new L2Unavailable('every L2 region is down (breakers open)')
    }
    let failed = 0
    for (const region of order) {
      const remaining = config.readDeadlineMs - (Date.now() - started)
      if (remaining <= 0) break
      if (!router.allow(region, Date.now())) continue
      let value: string | null
      const ms = Math.min(attemptTimeout(home, region), remaining)
      const attempted = Date.now()
      try {
        value = await call(home, region, ms, 'get', (redis) => redis.get<string>(entryKey(key)))
      } catch {
        failed++
        continue
      }
      events.read(region, (Date.now() - attempted) / 1000)
      if (failed > 0) events.failover(home, region)
      if (value === null) return undefined
      try {
        return { record: decodeRecord(base64ToBytes(value)), tier: `L2/${region}` }
      } catch (error) {
        if (!isUnreadable(error)) throw error
        // Another version's, a corrupt or an invalid record: a miss, deleted from the region it was
        // read from (best effort, within the write deadline), so every later read is not a miss too.
        events.corrupt(region)
        await call(home, region, config.writeTimeoutMs, 'del', (redis) =>
          redis.del(entryKey(key))
        ).catch(() => 0)
        return undefined
      }
    }
    throw new L2Unavailable(`no L2 region answered within ${config.readDeadlineMs} ms`)
  }

  async function write(home: string, key: string, record: StoredRecord, expiresAt: number) {
    const now = Date.now()
    const ttlMs = expiresAt - now
    if (ttlMs <= 0) return
    const region = router.writeRegion(home, now)
    if (region === undefined || !router.allow(region, now)) {
      events.degraded('write')
      return
    }
    const px = Math.ceil(ttlMs * (1 + config.ttlJitter * random()))
    const tags = record.kind === 'response' ? record.tags : []
    // The instant the fill's origin fetch began: a purge made since then refuses the write (fence.ts).
    const began = record.kind === 'response' ? record.storedAt - record.fetchMs : record.createdAt
    const value = bytesToBase64(encodeRecord(record))
    await call(home, region, config.writeTimeoutMs, 'set', (redis) =>
      redis.eval<string[], number>(
        FENCED_WRITE,
        [entryKey(key)],
        [
          value,
          String(px),
          String(began),
          config.keyPrefix,
          key,
          String(now),
          String(config.maxTagMembers),
          String(now + px),
          ...tags,
        ]
      )
    )
  }

  /** Deletes in every region (a purge must reach them all); throws naming the regions it missed. */
  async function remove(home: string, key: string): Promise<boolean> {
    const results = await Promise.allSettled(
      router.regions.map((region) =>
        call(home, region, config.writeTimeoutMs, 'del', (redis) => redis.del(entryKey(key)))
      )
    )
    const missed = router.regions.filter((_, i) => results[i]!.status === 'rejected')
    if (missed.length > 0) throw new L2Unavailable(`L2 delete missed ${missed.join(', ')}`)
    return results.some((result) => result.status === 'fulfilled' && result.value > 0)
  }

  return {
    router,
    run: (home, region, what, fn) => call(home, region, config.writeTimeoutMs, what, fn),
    inspect: (home, region, ms, fn) =>
      withDeadline(
        Promise.resolve().then(() => fn(client(home, region))),
        ms,
        `L2 inspect ${region}`
      ),
    subscriber: (from, region) =>
      new Redis({
        ...endpoint(from, region),
        retry: false,
        enableAutoPipelining: false,
        automaticDeserialization: false,
        enableTelemetry: false,
        readYourWrites: false,
      }),
    entryKey,
    tagKey,
    tierFor(home) {
      return {
        name: 'L2',
        lookup: (key) => read(home, key),
        get: async (key) => (await read(home, key))?.record,
        set: (key, record, expiresAt) => write(home, key, record, expiresAt),
        delete: (key) => remove(home, key),
      }
    },
    async probe(home) {
      const statuses = new Map(router.status().map((status) => [status.region, status]))
      return Promise.all(
        router.regions.map(async (region): Promise<RegionProbe> => {
          const started = Date.now()
          let error: string | undefined
          try {
            await call(home, region, config.writeTimeoutMs, 'ping', (redis) => redis.ping())
          } catch (failure) {
            error = String(failure)
          }
          const status = router.status().find((s) => s.region === region) ?? statuses.get(region)!
          return {
            region,
            ok: error === undefined,
            latencyMs: Date.now() - started,
            state: status.state,
            rttMs: status.rttMs,
            minRttMs: status.minRttMs,
            ...(error === undefined ? {} : { error }),
          }
        })
      )
    },
    refreshEstimates(home) {
      const now = Date.now()
      if (now - (lastProbe.get(home) ?? 0) < config.probeIntervalMs) return undefined
      lastProbe.set(home, now)
      const due = router.regions.filter((region) => router.allow(region, now))
      return Promise.allSettled(
        // Probes measure distance: they get the generous write deadline, not a read's.
        due.map((region) =>
          call(home, region, config.writeTimeoutMs, 'ping', (redis) => redis.ping())
        )
      ).then(() => undefined)
    },
  }
}

/** Bad base64 (SyntaxError natively, DOMException from atob) or a record the codec refuses. */
function isUnreadable(error: unknown): boolean {
  return (
    error instanceof EntryCodecError ||
    error instanceof SyntaxError ||
    error instanceof DOMException
  )
}
