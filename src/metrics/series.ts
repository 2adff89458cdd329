import { LATENCY_BUCKETS, type BreakerState } from './catalogue'

/** One histogram series: per-bucket counts (not cumulative; the last is `+Inf`), sum and count. */
export interface HistogramValue {
  buckets: number[]
  sum: number
  count: number
}

/**
 * Values of every series, as plain objects (structured-clonable: they travel over Durable Object
 * RPC and into its storage). metric name → series key (label values joined) → value.
 */
export interface SeriesSet {
  counters: Record<string, Record<string, number>>
  histograms: Record<string, Record<string, HistogramValue>>
}

/** The last breaker state an isolate reported for a region, and when. */
export interface BreakerReport {
  state: BreakerState
  at: number
}

/** What an isolate sends: its deltas since the last acknowledged batch. */
export interface StatsBatch {
  /** Random per isolate; with `seq` it makes a retried batch idempotent. */
  readonly isolate: string
  readonly seq: number
  readonly data: SeriesSet
  readonly breakers: Record<string, BreakerReport>
  /** Requests per path since the last batch, when `warming.topKeys` is set (top-paths.ts). */
  readonly paths?: Record<string, number>
}

export function emptySeries(): SeriesSet {
  return { counters: {}, histograms: {} }
}

export function emptyHistogram(): HistogramValue {
  return { buckets: new Array<number>(LATENCY_BUCKETS.length + 1).fill(0), sum: 0, count: 0 }
}

/** Adds `delta` into `into` (in place). */
export function mergeSeries(into: SeriesSet, delta: SeriesSet): void {
  for (const [metric, series] of Object.entries(delta.counters)) {
    const target = (into.counters[metric] ??= {})
    for (const [key, value] of Object.entries(series)) target[key] = (target[key] ?? 0) + value
  }
  for (const [metric, series] of Object.entries(delta.histograms)) {
    const target = (into.histograms[metric] ??= {})
    for (const [key, value] of Object.entries(series)) {
      const sum = (target[key] ??= emptyHistogram())
      for (let i = 0; i < sum.buckets.length; i++) sum.buckets[i]! += value.buckets[i] ?? 0
      sum.sum += value.sum
      sum.count += value.count
    }
  }
}

/** Newest report per region wins. */
export function mergeBreakers(
  into: Record<string, BreakerReport>,
  reports: Record<string, BreakerReport>
): void {
  for (const [region, report] of Object.entries(reports)) {
    const known = into[region]
    if (!known || report.at >= known.at) into[region] = { ...report }
  }
}

/** Sum of every series of a counter whose labels match `where` (label index → value). */
export function counterSum(
  set: SeriesSet,
  metric: string,
  where?: (values: readonly string[]) => boolean
): number {
  let total = 0
  for (const [key, value] of Object.entries(set.counters[metric] ?? {})) {
    if (!where || where(splitKey(key))) total += value
  }
  return total
}

/** Sum of the histogram series of `metric` matching `where`. */
export function histogramSum(
  set: SeriesSet,
  metric: string,
  where?: (values: readonly string[]) => boolean
): HistogramValue {
  const total = emptyHistogram()
  for (const [key, value] of Object.entries(set.histograms[metric] ?? {})) {
    if (where && !where(splitKey(key))) continue
    for (let i = 0; i < total.buckets.length; i++) total.buckets[i]! += value.buckets[i] ?? 0
    total.sum += value.sum
    total.count += value.count
  }
  return total
}

export function splitKey(key: string): string[] {
  return key === '' ? [] : key.split('\u001f')
}

/**
 * The q-quantile (seconds) of a bucketed histogram, interpolated linearly inside the bucket that
 * holds it, as PromQL's histogram_quantile does. Undefined without observations; a quantile in the
 * `+Inf` bucket is reported as the largest finite bound.
 */
export function quantile(histogram: HistogramValue, q: number): number | undefined {
  if (histogram.count === 0) return undefined
  const rank = q * histogram.count
  let below = 0
  for (let i = 0; i < histogram.buckets.length; i++) {
    const inBucket = histogram.buckets[i]!
    if (below + inBucket >= rank && inBucket > 0) {
      const upper = LATENCY_BUCKETS[i]
      if (upper === undefined) return LATENCY_BUCKETS[LATENCY_BUCKETS.length - 1]
      const lower = i === 0 ? 0 : LATENCY_BUCKETS[i - 1]!
      return lower + (upper - lower) * ((rank - below) / inBucket)
    }
    below += inBucket
  }
  return LATENCY_BUCKETS[LATENCY_BUCKETS.length - 1]
}

/** What the Stats object keeps. */
export interface StatsTotals {
  totals: SeriesSet
  breakers: Record<string, BreakerReport>
  /** Batches applied since the object was created. */
  batches: number
  /** When the first batch arrived (epoch ms; 0 before). */
  since: number
}

export interface TimelineBucket {
  /** Start of the bucket (epoch ms, a multiple of bucketMs). */
  readonly t: number
  readonly data: SeriesSet
}

export interface StatsSnapshot extends StatsTotals {
  readonly now: number
  readonly bucketMs: number
  /** Oldest first; only the buckets that received deltas. */
  readonly timeline?: TimelineBucket[]
}
