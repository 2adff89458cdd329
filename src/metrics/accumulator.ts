import { log } from '../lib/log'
import { withDeadline } from '../lib/with-deadline'
import {
  COUNTERS,
  HISTOGRAMS,
  LABEL_SEPARATOR,
  LATENCY_BUCKETS,
  MAX_SERIES_PER_METRIC,
  OVERFLOW_VALUE,
  type BreakerState,
  type CounterLabels,
  type CounterName,
  type HistogramLabels,
  type HistogramName,
} from './catalogue'
import {
  emptyHistogram,
  emptySeries,
  type BreakerReport,
  type HistogramValue,
  type SeriesSet,
  type StatsBatch,
} from './series'
import { TopPaths } from './top-paths'

/** Labels are optional for a metric without labels, required otherwise. */
type LabelArgs<L> = [keyof L] extends [never]
  ? [labels?: Record<never, never>, by?: number]
  : [labels: L, by?: number]

export interface FlushPolicy {
  /** Flush when the last flush is at least this old (ms)... */
  readonly flushIntervalMs: number
  /** ...or when this many requests were recorded since. */
  readonly flushRequests: number
}

/** Delivers one batch to the Stats Durable Object (resolves once it acknowledged). */
export type BatchSender = (batch: StatsBatch) => Promise<unknown>

function seriesKey(names: readonly string[], labels: Record<string, string> | undefined): string {
  if (names.length === 0 || labels === undefined) return ''
  if (names.length === 1) return labels[names[0]!]!
  if (names.length === 2) return labels[names[0]!] + LABEL_SEPARATOR + labels[names[1]!]
  return names.map((name) => labels[name]).join(LABEL_SEPARATOR)
}

/** A new series beyond the cap is counted under `_other` in every label: memory stays bounded. */
function boundedKey<V>(series: Map<string, V>, key: string, labelCount: number): string {
  if (series.size < MAX_SERIES_PER_METRIC || series.has(key)) return key
  return new Array<string>(labelCount).fill(OVERFLOW_VALUE).join(LABEL_SEPARATOR)
}

/**
 * The isolate's metrics: deltas since the last batch the Stats Durable Object acknowledged.
 * Recording is a couple of Map operations (it runs on every request, hits included); delivery is
 * batched, one flush in flight at a time, each with a deadline. A batch that fails is kept and sent
 * again with the same sequence number (the object ignores one it already applied), while new deltas
 * keep accumulating beside it: nothing is lost or counted twice, and memory stays bounded.
 */
export class MetricsAccumulator {
  readonly #counters = new Map<CounterName, Map<string, number>>()
  readonly #histograms = new Map<HistogramName, Map<string, HistogramValue>>()
  #breakers: Record<string, BreakerReport> = {}
  readonly #paths = new TopPaths()
  #dirty = false
  #requests = 0
  #lastFlushAt = 0
  #isolate: string | undefined
  #seq = 0
  #unacked: StatsBatch | undefined
  #inflight: Promise<boolean> | undefined

  constructor() {
    for (const name of Object.keys(COUNTERS) as CounterName[]) this.#counters.set(name, new Map())
    for (const name of Object.keys(HISTOGRAMS) as HistogramName[])
      this.#histograms.set(name, new Map())
  }

  /** Adds `by` (default 1) to a counter. */
  increment<N extends CounterName>(
    name: N,
    ...[labels, by = 1]: LabelArgs<CounterLabels[N]>
  ): void {
    const names = COUNTERS[name].labels
    const series = this.#counters.get(name)!
    const key = boundedKey(
      series,
      seriesKey(names, labels as Record<string, string> | undefined),
      names.length
    )
    series.set(key, (series.get(key) ?? 0) + by)
    this.#dirty = true
  }

  /** Records one observation, in seconds. */
  observe<N extends HistogramName>(name: N, seconds: number, labels: HistogramLabels[N]): void {
    const names = HISTOGRAMS[name].labels
    const series = this.#histograms.get(name)!
    const key = boundedKey(
      series,
      seriesKey(names, labels as unknown as Record<string, string>),
      names.length
    )
    let histogram = series.get(key)
    if (!histogram) series.set(key, (histogram = emptyHistogram()))
    let i = 0
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]!) i++
    histogram.buckets[i]!++
    histogram.sum += seconds
    histogram.count++
    this.#dirty = true
  }

  /** A circuit breaker changed state: counted, and remembered as the region's latest state. */
  breakerTransition(region: string, state: BreakerState, at: number = Date.now()): void {
    this.increment('breaker_transitions_total', { region, state })
    this.#breakers[region] = { state, at }
  }

  /** Counts one request for `path` (for warming the most requested ones; never a label). */
  countPath(path: string): void {
    this.#paths.add(path)
    this.#dirty = true
  }

  /** Counts one request towards the flush-every-N trigger. */
  countRequest(): void {
    this.#requests++
  }

  /** Whether a request should start a flush now (never while one is in flight). */
  flushDue(now: number, policy: FlushPolicy): boolean {
    if (this.#inflight || (!this.#dirty && !this.#unacked)) return false
    return (
      this.#requests >= policy.flushRequests || now - this.#lastFlushAt >= policy.flushIntervalMs
    )
  }

  /**
   * Sends the retained batch (if any), then everything recorded since; true when all was
   * acknowledged. Waits for a flush already in flight first, so what was recorded before this call
   * is delivered by the time it resolves. Never throws.
   */
  async flush(send: BatchSender, timeoutMs: number): Promise<boolean> {
    while (this.#inflight) await this.#inflight
    const run = this.#run(send, timeoutMs)
    this.#inflight = run
    try {
      return await run
    } finally {
      if (this.#inflight === run) this.#inflight = undefined
    }
  }

  /** Deltas recorded and not yet handed to a batch (for a view when the Stats object is down). */
  unsent(): SeriesSet {
    return this.#toSeries()
  }

  async #run(send: BatchSender, timeoutMs: number): Promise<boolean> {
    this.#lastFlushAt = Date.now()
    if (this.#unacked && !(await this.#deliver(this.#unacked, send, timeoutMs))) return false
    if (!this.#dirty) return true
    this.#isolate ??= crypto.randomUUID()
    const batch: StatsBatch = {
      isolate: this.#isolate,
      seq: ++this.#seq,
      data: this.#toSeries(),
      breakers: this.#breakers,
      ...(this.#paths.size > 0 ? { paths: this.#paths.drain() } : {}),
    }
    for (const series of this.#counters.values()) series.clear()
    for (const series of this.#histograms.values()) series.clear()
    this.#breakers = {}
    this.#dirty = false
    this.#requests = 0
    this.#unacked = batch
    return this.#deliver(batch, send, timeoutMs)
  }

  async #deliver(batch: StatsBatch, send: BatchSender, timeoutMs: number): Promise<boolean> {
    try {
      await withDeadline(
        Promise.resolve().then(() => send(batch)),
        timeoutMs,
        'stats flush'
      )
      if (this.#unacked === batch) this.#unacked = undefined
      return true
    } catch (error) {
      // Kept for the next flush; counted so the failure itself shows up once delivery recovers.
      this.increment('stats_flush_failures_total')
      log.warn('stats_flush_failed', { error })
      return false
    }
  }

  #toSeries(): SeriesSet {
    const out = emptySeries()
    for (const [name, series] of this.#counters) {
      if (series.size > 0) out.counters[name] = Object.fromEntries(series)
    }
    for (const [name, series] of this.#histograms) {
      if (series.size === 0) continue
      const copy: Record<string, HistogramValue> = {}
      for (const [key, value] of series) copy[key] = { ...value, buckets: [...value.buckets] }
      out.histograms[name] = copy
    }
    return out
  }
}

/** The isolate's accumulator: `metrics.increment('origin_fetches_total', { reason: 'refresh' })`. */
