import { createCacheApiTier } from '../cache/l1-cache-api'
import { createMemoryTier } from '../cache/memory-tier'
import { MissRatio } from '../cache/miss-ratio'
import type { CacheTier } from '../cache/tier'
import { parseConfig, type Config } from '../config/load-config'
import { RegionEvictions } from '../l2/region-evictions'
import { createRegionalL2, type RegionalL2 } from '../l2/regional-l2'
import { CircuitBreaker } from '../lib/circuit-breaker'
import { MetricsAccumulator } from '../metrics/accumulator'
import { l2MetricEvents } from '../metrics/l2-events'
import { createOriginBreaker, type OriginBreaker } from '../origin/origin-breaker'
import { JournalLog, type PurgeJournalNamespace } from '../purge/journal'
import type { PurgeFeed } from '../../durable-objects/purge-feed'
import { PurgeLog, type PurgeFeedPort } from '../purge/log'
import { PurgeScope, type PurgeLogPort, type PurgeRouterPort } from '../purge/scope'
import { PopularityBook } from '../popularity/estimator'
import { PendingHits } from '../popularity/pending-hits'
import { LeaseBook } from '../ratelimit/lease-book'

/** One (simulated) colo as this isolate serves it: its hot tier, its L1 and its view of purges. */
export interface Colo {
  /** Undefined when the memory tier is turned off. */
  readonly memory: CacheTier | undefined
  readonly l1: CacheTier
  /** How often its L1 missed lately: while it mostly misses, a memory miss reads L2 with L1. */
  readonly l1Misses: MissRatio
  readonly purges: PurgeScope
}

/**
 * Everything an isolate keeps between requests, built once from its validated config: the
 * composition root. Request contexts (src/runtime/request-context.ts) are made from it; nothing
 * else in the Worker or its Durable Objects holds mutable state at module level.
 */
export interface Isolate {
  readonly config: Config
  readonly metrics: MetricsAccumulator
  /** The regional L2 and its router; undefined without L2_REGIONS. */
  readonly l2: RegionalL2 | undefined
  /** The regions' `evicted_keys` (INFO), read when metrics are scraped; undefined without L2. */
  readonly l2Evictions: RegionEvictions | undefined
  /**
   * Where purges are recorded for every colo: the regions' logs with L2, else the PurgeJournal object
   * (when the binding is there); undefined: purges reach this isolate and colo only.
   */
  readonly purgeLog: PurgeLogPort | undefined
  /** Null when `origin.breaker.enabled` is off. */
  readonly originBreaker: OriginBreaker | null
  /** Coalescer objects that throw are skipped for a while (the Worker then fetches directly). */
  readonly coalescerBreaker: CircuitBreaker
  /** Background refreshes in flight, by variant key: a hot stale key is refreshed once, not per hit. */
  readonly refreshing: Map<string, Promise<void>>
  /**
   * `adaptiveTtl` routes: requests per key not yet reported to a filler, and the isolate's own
   * estimator for the fills it makes itself (coalescing off or unavailable). Both fixed in size.
   */
  readonly popularity: { readonly pending: PendingHits; readonly book: PopularityBook }
  /** Rate-limit permits leased to this isolate by the RateLimiter objects, per identity. */
  readonly leases: LeaseBook
  /** The colo `colo` (`''` on Cloudflare, a simulated one locally) under the Worker origin `origin`. */
  colo(colo: string, origin: string): Colo
}

/** Colos (simulated colo × Worker origin) an isolate keeps before starting afresh. */
const MAX_COLOS = 16

export interface IsolateOptions {
  /** Whether L2 reports into the metrics (the Worker) or nowhere (a Durable Object). */
  readonly reportL2?: boolean
  /** The accumulator to count into (default: a new one). */
  readonly metrics?: MetricsAccumulator
  /** The PURGE_JOURNAL binding: the purge log when L2 is off. */
  readonly purgeJournal?: PurgeJournalNamespace
  /** The PURGE_FEED binding: each region's purge feed, read instead of its log (with L2). */
  readonly purgeFeed?: DurableObjectNamespace<PurgeFeed>
}

export function createIsolate(config: Config, options: IsolateOptions = {}): Isolate {
  const metrics = options.metrics ?? new MetricsAccumulator()
  const l2 =
    config.l2 &&
    createRegionalL2(config.l2, {
      simulation: config.simulation,
      events: options.reportL2 === false ? undefined : l2MetricEvents(metrics),
    })
  const journal =
    l2 === undefined && options.purgeJournal
      ? new JournalLog(options.purgeJournal, config.purge, metrics)
      : undefined
  const feeds = options.purgeFeed
  const purgeLog: PurgeLogPort | undefined = l2
    ? new PurgeLog(
        l2,
        config.l2!.keyPrefix,
        config.purge,
        feeds && {
          // A region's feed object lives near the region, where its Coalescer objects are hinted.
          object: (region) => {
            const hint = config.coalescer.locationHints[region]
            const id = feeds.idFromName(region)
            const feed = feeds.get(
              id,
              hint ? { locationHint: hint } : {}
            ) as unknown as PurgeFeedPort
            return {
              read(...args) {
                metrics.increment('do_requests_total', { class: 'PurgeFeed' })
                return feed.read(...args)
              },
            }
          },
          deadlineMs: config.l2!.writeTimeoutMs + 500,
        }
      )
    : journal
  const purgeRouter: PurgeRouterPort | undefined = l2 ? l2.router : journal
  const colos = new Map<string, Colo>()
  // The hot tier is per colo only: keys do not include the host (the origin is fixed), so every
  // host the Worker answers on shares it; L1 and the purge view are per colo and Worker origin.
  const memories = new Map<string, CacheTier | undefined>()

  function memoryFor(colo: string): CacheTier | undefined {
    if (memories.has(colo)) return memories.get(colo)
    const { maxEntries, maxBytes, maxAgeMs } = config.memory
    const memory =
      maxEntries > 0 && maxBytes > 0 && maxAgeMs > 0
        ? createMemoryTier(config.memory, {
            evicted: () => metrics.increment('memory_evictions_total'),
          })
        : undefined
    memories.set(colo, memory)
    return memory
  }

  function createColo(colo: string, origin: string): Colo {
    const memory = memoryFor(colo)
    // A simulated colo gets a cache of its own, as a real colo has; the Cache API is per zone.
    const name = colo === '' ? config.cacheName : `${config.cacheName}:${colo}`
    const l1 = createCacheApiTier(name, origin, metrics)
    const near = memory ? [memory, l1] : [l1]
    const purges = new PurgeScope(
      config.purge,
      near,
      purgeLog,
      purgeRouter,
      metrics,
      l2 !== undefined
    )
    return { memory, l1, l1Misses: new MissRatio(), purges }
  }

  return {
    config,
    metrics,
    l2,
    l2Evictions:
      l2 &&
      new RegionEvictions(l2, {
        intervalMs: config.metrics.l2InfoIntervalMs,
        // Like the region probes: the generous write deadline, not a read's.
        timeoutMs: config.l2!.writeTimeoutMs,
      }),
    purgeLog,
    originBreaker: createOriginBreaker(config.origin.breaker),
    coalescerBreaker: new CircuitBreaker({ failureThreshold: 3, cooldownMs: 5000 }),
    refreshing: new Map(),
    popularity: { pending: new PendingHits(), book: new PopularityBook() },
    leases: new LeaseBook(),
    colo(colo, origin) {
      const id = `${colo} ${origin}`
      let found = colos.get(id)
      if (!found) {
        if (colos.size >= MAX_COLOS) colos.clear()
        if (memories.size >= MAX_COLOS) memories.clear()
        found = createColo(colo, origin)
        colos.set(id, found)
      }
      return found
    },
  }
}

// Bindings are fixed for an isolate's lifetime: one Isolate per distinct env object (tests make a
// new env object to get a fresh one). These two are the only module-level state of the Worker: the
// runtimes by bindings, and the metrics, which belong to the JS isolate whatever bindings it serves.
const isolates = new WeakMap<object, Isolate>()
const isolateMetrics = new MetricsAccumulator()

/** The isolate's runtime for these bindings, built on first use; throws ConfigError on bad config. */
export function isolateFor(env: object): Isolate {
  let isolate = isolates.get(env)
  if (!isolate) {
    const bindings = env as Partial<Pick<Cloudflare.Env, 'PURGE_JOURNAL' | 'PURGE_FEED'>>
    isolate = createIsolate(parseConfig(env), {
      metrics: isolateMetrics,
      purgeJournal: bindings.PURGE_JOURNAL,
      purgeFeed: bindings.PURGE_FEED,
    })
    isolates.set(env, isolate)
  }
  return isolate
}

/** The validated config of these bindings (parsed once per env object). */
export function loadConfig(env: object): Config {
  return isolateFor(env).config
}
