import type { StatsSnapshot } from './series'
import {
  OUTCOMES,
  TIERS,
  type BreakerState,
  type OriginFetchReason,
  type Outcome,
  type Tier,
} from './catalogue'
import {
  counterSum,
  histogramSum,
  splitKey,
  quantile,
  type HistogramValue,
  type SeriesSet,
} from './series'

/** Tiers that answer from a copy: their share of lookups is their hit ratio. */
const CACHE_TIERS = ['memory', 'L1', 'L2'] as const
/** Requests that looked the cache up (pass-through, 429s and edge errors did not). */
const LOOKUP_OUTCOMES: ReadonlySet<string> = new Set(['hit', 'stale', 'miss', 'revalidated'])
const SERVED_FROM_COPY: ReadonlySet<string> = new Set(['hit', 'stale'])
const ORIGIN_REASONS: readonly OriginFetchReason[] = ['miss', 'revalidate', 'refresh', 'pass']

export interface TierView {
  requests: number
  /** Share of all lookups this tier answered (cache tiers only). */
  hitRatio: number | null
  p50Ms: number | null
  p99Ms: number | null
}

export interface RegionView {
  region: string
  /** Latest state any isolate reported; `closed` (how every breaker starts) until one does. */
  state: BreakerState
  changedAt: number | null
  served: number
  failoversFrom: number
  failoversTo: number
  transitions: number
  /** Keys the region's Redis evicted (its INFO `evicted_keys`); null while unknown. */
  evictedKeys: number | null
}

export interface DashboardView {
  now: number
  /** First batch the Stats object received (epoch ms), 0 before. */
  since: number
  bucketSeconds: number
  batches: number
  totals: {
    requests: number
    lookups: number
    hitRatio: number | null
    outcomes: Record<Outcome, number>
    tiers: Record<Tier, TierView>
    originFetches: number
    originFetchesByReason: Record<OriginFetchReason, number>
    /** Requests that waited on another's origin fetch: the stampedes absorbed. */
    coalesced: number
    /** Memory tier: copies dropped for room (summed over isolates); L2: the regions' own, null if none read. */
    evictions: { memory: number; l2: number | null }
    staleServed: { swr: number; sie: number }
    purges: number
    rateLimited: number
    earlyRefreshes: number
    negativeHits: number
    l2Degraded: number
    flushFailures: number
    p50Ms: number | null
    p99Ms: number | null
  }
  /** One point per complete bucket (the one still filling is left out), oldest first. */
  series: {
    t: number[]
    requestsPerSec: number[]
    hitRatio: {
      all: (number | null)[]
      memory: (number | null)[]
      L1: (number | null)[]
      L2: (number | null)[]
    }
    originFetchesPerSec: number[]
    coalescedPerSec: number[]
    evictionsPerSec: number[]
    stalePerSec: number[]
    purgesPerSec: number[]
    rateLimitedPerSec: number[]
    p50Ms: (number | null)[]
    p99Ms: (number | null)[]
  }
  l2: { configured: boolean; regions: RegionView[] }
}

const ms = (seconds: number | undefined) =>
  seconds === undefined ? null : Math.round(seconds * 10_000) / 10

const ratio = (part: number, whole: number) => (whole === 0 ? null : part / whole)

function requestCounts(set: SeriesSet) {
  let requests = 0
  let lookups = 0
  const outcomes = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>
  const byTier = Object.fromEntries(TIERS.map((t) => [t, 0])) as Record<Tier, number>
  const servedBy = Object.fromEntries(TIERS.map((t) => [t, 0])) as Record<Tier, number>
  for (const [key, value] of Object.entries(set.counters.requests_total ?? {})) {
    const [outcome, tier] = splitKey(key) as [Outcome, Tier]
    requests += value
    outcomes[outcome] = (outcomes[outcome] ?? 0) + value
    byTier[tier] = (byTier[tier] ?? 0) + value
    if (LOOKUP_OUTCOMES.has(outcome)) lookups += value
    if (SERVED_FROM_COPY.has(outcome)) servedBy[tier] = (servedBy[tier] ?? 0) + value
  }
  const served = CACHE_TIERS.reduce((sum, tier) => sum + servedBy[tier], 0) + servedBy.other
  return { requests, lookups, outcomes, byTier, servedBy, hitRatio: ratio(served, lookups) }
}

/** Sum over the regions that have a reading; null when none has. */
function l2Total(evicted: Readonly<Record<string, number>>): number | null {
  const values = Object.values(evicted)
  return values.length === 0 ? null : values.reduce((sum, value) => sum + value, 0)
}

const latency = (set: SeriesSet, tier?: Tier): HistogramValue =>
  histogramSum(set, 'request_duration_seconds', tier && ((values) => values[0] === tier))

function regionViews(
  snapshot: StatsSnapshot,
  configured: readonly string[],
  evicted: Readonly<Record<string, number>>
): RegionView[] {
  const { totals, breakers } = snapshot
  const names = new Set(configured)
  for (const region of Object.keys(breakers)) names.add(region)
  for (const key of Object.keys(totals.counters.l2_region_requests_total ?? {}))
    names.add(splitKey(key)[0]!)
  return [...names].sort().map((region) => ({
    region,
    state: breakers[region]?.state ?? 'closed',
    changedAt: breakers[region]?.at ?? null,
    served: counterSum(totals, 'l2_region_requests_total', (v) => v[0] === region),
    failoversFrom: counterSum(totals, 'l2_failovers_total', (v) => v[0] === region),
    failoversTo: counterSum(totals, 'l2_failovers_total', (v) => v[1] === region),
    transitions: counterSum(totals, 'breaker_transitions_total', (v) => v[0] === region),
    evictedKeys: Object.hasOwn(evicted, region) ? evicted[region]! : null,
  }))
}

/**
 * What the dashboard shows, computed from the Stats object's totals and timeline: totals for the
 * tiles and tables, one point per bucket for the charts. `l2Regions` are the configured regions,
 * `l2EvictedKeys` what their INFO last said (a region left out: unknown).
 */
export function dashboardView(
  snapshot: StatsSnapshot,
  l2Regions: readonly string[] | undefined,
  l2EvictedKeys: Readonly<Record<string, number>> = {}
): DashboardView {
  const { totals } = snapshot
  const counts = requestCounts(totals)
  const all = latency(totals)
  const tiers = Object.fromEntries(
    TIERS.map((tier) => {
      const histogram = latency(totals, tier)
      const isCache = (CACHE_TIERS as readonly string[]).includes(tier)
      return [
        tier,
        {
          requests: counts.byTier[tier],
          hitRatio: isCache ? ratio(counts.servedBy[tier], counts.lookups) : null,
          p50Ms: ms(quantile(histogram, 0.5)),
          p99Ms: ms(quantile(histogram, 0.99)),
        },
      ]
    })
  ) as Record<Tier, TierView>

  const bucketSeconds = snapshot.bucketMs / 1000
  const current = snapshot.now - (snapshot.now % snapshot.bucketMs)
  const byStart = new Map((snapshot.timeline ?? []).map((bucket) => [bucket.t, bucket.data]))
  const first = Math.min(...byStart.keys())
  const series: DashboardView['series'] = {
    t: [],
    requestsPerSec: [],
    hitRatio: { all: [], memory: [], L1: [], L2: [] },
    originFetchesPerSec: [],
    coalescedPerSec: [],
    evictionsPerSec: [],
    stalePerSec: [],
    purgesPerSec: [],
    rateLimitedPerSec: [],
    p50Ms: [],
    p99Ms: [],
  }
  const perSec = (value: number) => value / bucketSeconds
  for (let t = first; Number.isFinite(t) && t < current; t += snapshot.bucketMs) {
    const data = byStart.get(t) ?? { counters: {}, histograms: {} }
    const bucket = requestCounts(data)
    const histogram = latency(data)
    series.t.push(t / 1000)
    series.requestsPerSec.push(perSec(bucket.requests))
    series.hitRatio.all.push(bucket.hitRatio)
    for (const tier of CACHE_TIERS)
      series.hitRatio[tier].push(ratio(bucket.servedBy[tier], bucket.lookups))
    series.originFetchesPerSec.push(perSec(counterSum(data, 'origin_fetches_total')))
    series.coalescedPerSec.push(perSec(counterSum(data, 'coalesced_followers_total')))
    series.evictionsPerSec.push(perSec(counterSum(data, 'memory_evictions_total')))
    series.stalePerSec.push(perSec(counterSum(data, 'stale_served_total')))
    series.purgesPerSec.push(perSec(counterSum(data, 'purges_total')))
    series.rateLimitedPerSec.push(perSec(counterSum(data, 'rate_limited_total')))
    series.p50Ms.push(ms(quantile(histogram, 0.5)))
    series.p99Ms.push(ms(quantile(histogram, 0.99)))
  }

  return {
    now: snapshot.now,
    since: snapshot.since,
    bucketSeconds,
    batches: snapshot.batches,
    totals: {
      requests: counts.requests,
      lookups: counts.lookups,
      hitRatio: counts.hitRatio,
      outcomes: counts.outcomes,
      tiers,
      originFetches: counterSum(totals, 'origin_fetches_total'),
      originFetchesByReason: Object.fromEntries(
        ORIGIN_REASONS.map((reason) => [
          reason,
          counterSum(totals, 'origin_fetches_total', (v) => v[0] === reason),
        ])
      ) as Record<OriginFetchReason, number>,
      coalesced: counterSum(totals, 'coalesced_followers_total'),
      evictions: {
        memory: counterSum(totals, 'memory_evictions_total'),
        l2: l2Total(l2EvictedKeys),
      },
      staleServed: {
        swr: counterSum(totals, 'stale_served_total', (v) => v[0] === 'swr'),
        sie: counterSum(totals, 'stale_served_total', (v) => v[0] === 'sie'),
      },
      purges: counterSum(totals, 'purges_total'),
      rateLimited: counterSum(totals, 'rate_limited_total'),
      earlyRefreshes: counterSum(totals, 'early_refreshes_total'),
      negativeHits: counterSum(totals, 'negative_hits_total'),
      l2Degraded: counterSum(totals, 'l2_degraded_total'),
      flushFailures: counterSum(totals, 'stats_flush_failures_total'),
      p50Ms: ms(quantile(all, 0.5)),
      p99Ms: ms(quantile(all, 0.99)),
    },
    series,
    l2: {
      configured: l2Regions !== undefined,
      regions: regionViews(snapshot, l2Regions ?? [], l2EvictedKeys),
    },
  }
}
