/**
 * Every metric the cache exports, fixed at build time. Label values are bounded by construction:
 * outcomes, tiers and reasons are closed sets, regions come from config. Never a key or a URL.
 */

/** How a request was answered (from its `Cache-Status`, or 429 from the rate limiter). */
export type Outcome = 'hit' | 'stale' | 'miss' | 'revalidated' | 'pass' | 'error' | 'rate_limited'

/**
 * The farthest tier a request reached: a cache tier that answered it, `origin` for anything that was
 * forwarded (misses, revalidations, pass-through, stale-if-error), `edge` when the Worker answered
 * itself (429, internal errors), `other` for a tier name this build does not know.
 */
export type Tier = 'memory' | 'L1' | 'L2' | 'origin' | 'edge' | 'other'

export type StaleReason = 'swr' | 'sie'
export type OriginFetchReason = 'miss' | 'revalidate' | 'refresh' | 'pass'
export type BreakerState = 'closed' | 'open' | 'half-open'
/** The Durable Object classes the Worker calls (each RPC call on a stub is one billed request). */
export type DurableObjectClass =
  'Coalescer' | 'RateLimiter' | 'Stats' | 'PurgeFeed' | 'PurgeJournal'
/**
 * What a scheduled warming run did with one URL: `stored` (filled), `hit` (a usable copy was there),
 * `not_stored` (answered, but nothing a miss would store), `error` (the origin failed), `skipped` (no
 * cached route), `timeout` (cut or never started by the run's deadline).
 */
export type WarmOutcome = 'stored' | 'hit' | 'not_stored' | 'error' | 'skipped' | 'timeout'

export const OUTCOMES: readonly Outcome[] = [
  'hit',
  'stale',
  'miss',
  'revalidated',
  'pass',
  'error',
  'rate_limited',
]
export const TIERS: readonly Tier[] = ['memory', 'L1', 'L2', 'origin', 'edge', 'other']

/** Label names and value types of each counter. */
export interface CounterLabels {
  requests_total: { outcome: Outcome; tier: Tier }
  l2_region_requests_total: { region: string; outcome: 'hit' | 'stale' }
  origin_fetches_total: { reason: OriginFetchReason }
  stale_served_total: { reason: StaleReason }
  coalesced_followers_total: Record<never, never>
  memory_evictions_total: Record<never, never>
  early_refreshes_total: Record<never, never>
  negative_hits_total: Record<never, never>
  corrupt_entries_total: { tier: 'L1' | 'L2' }
  rate_limited_total: Record<never, never>
  purges_total: Record<never, never>
  purge_refused_total: Record<never, never>
  purge_view_stale_total: { action: 'l2' | 'waited' | 'served' }
  purge_replays_total: Record<never, never>
  l2_failovers_total: { from: string; to: string }
  l2_degraded_total: { operation: 'read' | 'write' }
  l2_read_ahead_total: { outcome: 'used' | 'wasted' }
  breaker_transitions_total: { region: string; state: BreakerState }
  stats_flush_failures_total: Record<never, never>
  do_requests_total: { class: DurableObjectClass }
  warm_total: { outcome: WarmOutcome }
  warm_runs_total: { result: 'completed' | 'deadline' }
}

/** Label names and value types of each histogram (observed in seconds). */
export interface HistogramLabels {
  request_duration_seconds: { tier: Tier }
  l2_read_duration_seconds: { region: string }
}

export type CounterName = keyof CounterLabels
export type HistogramName = keyof HistogramLabels

export interface MetricSpec<L> {
  readonly help: string
  /** Label names in exposition order. */
  readonly labels: readonly (keyof L & string)[]
}

/** Prometheus name of a catalogue metric. */
export const PREFIX = 'edge_cache_'

export const COUNTERS: { readonly [N in CounterName]: MetricSpec<CounterLabels[N]> } = {
  requests_total: {
    help: 'Requests answered, by outcome (from Cache-Status) and the farthest tier reached.',
    labels: ['outcome', 'tier'],
  },
  l2_region_requests_total: {
    help: 'Requests answered from L2, by region.',
    labels: ['region', 'outcome'],
  },
  origin_fetches_total: {
    help: 'Fetches sent to the origin: misses, revalidations, background refreshes, pass-through.',
    labels: ['reason'],
  },
  stale_served_total: {
    help: 'Stale copies served: swr (stale-while-revalidate), sie (stale-if-error).',
    labels: ['reason'],
  },
  coalesced_followers_total: {
    help: 'Requests that waited on the origin fetch of another request (Cache-Status collapsed).',
    labels: [],
  },
  memory_evictions_total: {
    help: 'Live copies the memory tier dropped to stay within maxEntries or maxBytes (not expiries, purges or replacements).',
    labels: [],
  },
  early_refreshes_total: {
    help: 'Entries refreshed before expiry by probabilistic early expiration.',
    labels: [],
  },
  negative_hits_total: { help: 'Requests answered from a cached negative entry.', labels: [] },
  corrupt_entries_total: {
    help: 'Cached records a tier could not read (corrupt, invalid or another format): each a miss, and deleted.',
    labels: ['tier'],
  },
  rate_limited_total: { help: 'Requests refused with 429 by the rate limiter.', labels: [] },
  purges_total: { help: 'Purge requests applied (POST /_cache/purge answered 2xx).', labels: [] },
  purge_refused_total: {
    help: 'Cached copies refused because a later purge matches them (the purge view).',
    labels: [],
  },
  purge_view_stale_total: {
    help: 'Reads made while the purge view was older than its bound: l2 (memory and L1 skipped), waited (no L2: memory and L1 waited for the purge journal), served (every log down).',
    labels: ['action'],
  },
  purge_replays_total: {
    help: 'Purges replayed into a region whose log lacked them (it was down when they were made).',
    labels: [],
  },
  l2_failovers_total: {
    help: 'L2 reads answered by another region after the nearest failed or timed out.',
    labels: ['from', 'to'],
  },
  l2_degraded_total: {
    help: 'L2 operations skipped because no region was available (breakers open or all failing).',
    labels: ['operation'],
  },
  l2_read_ahead_total: {
    help: 'L2 reads started with the L1 lookup while the colo L1 mostly missed: used (L1 missed too) or wasted (L1 answered; one GET spent for nothing).',
    labels: ['outcome'],
  },
  breaker_transitions_total: {
    help: 'Circuit breaker state changes, by region and new state (summed over isolates).',
    labels: ['region', 'state'],
  },
  stats_flush_failures_total: {
    help: 'Batches an isolate could not deliver to the Stats Durable Object in time (retried).',
    labels: [],
  },
  do_requests_total: {
    help: 'Calls the Worker made on Durable Object stubs, by class (each RPC call is one billed request).',
    labels: ['class'],
  },
  warm_total: {
    help: 'URLs handled by scheduled warming: stored, hit (already cached), not_stored, error, skipped (no cached route), timeout.',
    labels: ['outcome'],
  },
  warm_runs_total: {
    help: 'Scheduled warming runs: completed, or cut by their deadline.',
    labels: ['result'],
  },
}

export const HISTOGRAMS: { readonly [N in HistogramName]: MetricSpec<HistogramLabels[N]> } = {
  request_duration_seconds: {
    help: 'Time to the response headers in the Worker, by the farthest tier reached.',
    labels: ['tier'],
  },
  l2_read_duration_seconds: { help: 'L2 read round trips, by region.', labels: ['region'] },
}

/**
 * Upper bounds (seconds) of the latency buckets: Prometheus' defaults with 1 ms and 2.5 ms added,
 * since memory and L1 hits answer in well under 5 ms. `+Inf` is implied.
 */
export const LATENCY_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]

/** Most series one metric may hold; any further label combination is counted under `_other`. */
export const MAX_SERIES_PER_METRIC = 256

/** Joins label values into a series key (the unit separator cannot occur in our values). */
export const LABEL_SEPARATOR = '\u001f'
export const OVERFLOW_VALUE = '_other'
