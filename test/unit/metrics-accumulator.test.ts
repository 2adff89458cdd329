import { describe, expect, it } from 'vitest'
import { MetricsAccumulator } from '../../src/metrics/accumulator'
import { LATENCY_BUCKETS, MAX_SERIES_PER_METRIC } from '../../src/metrics/catalogue'
import { quantile, type StatsBatch } from '../../src/metrics/series'

const policy = { flushIntervalMs: 1000, flushRequests: 3 }
const quietly = <T>(run: () => Promise<T>): Promise<T> => {
  const error = console.error
  console.error = () => {}
  return run().finally(() => (console.error = error))
}

describe('MetricsAccumulator', () => {
  it('keeps typed counters and histograms per label set and hands them over in one batch', async () => {
    const metrics = new MetricsAccumulator()
    metrics.increment('requests_total', { outcome: 'hit', tier: 'L1' })
    metrics.increment('requests_total', { outcome: 'hit', tier: 'L1' }, 2)
    metrics.increment('purges_total')
    metrics.observe('request_duration_seconds', 0.0005, { tier: 'L1' })
    metrics.observe('request_duration_seconds', 0.001, { tier: 'L1' })
    metrics.observe('request_duration_seconds', 30, { tier: 'origin' })
    // Compiled, never run: the names and label values are checked by the type checker.
    const _typeChecks = () => {
      // @ts-expect-error: a metric name outside the catalogue does not compile
      metrics.increment('requests', { outcome: 'hit', tier: 'L1' })
      // @ts-expect-error: label values are typed (no URL as a tier)
      metrics.increment('requests_total', { outcome: 'hit', tier: '/products/1' })
      // @ts-expect-error: labels are required where the metric has some
      metrics.increment('stale_served_total')
    }

    const sent: StatsBatch[] = []
    expect(await metrics.flush(async (batch) => void sent.push(batch), 100)).toBe(true)
    expect(sent).toHaveLength(1)
    const { data } = sent[0]!
    expect(data.counters.requests_total).toMatchObject({ 'hit\u001fL1': 3 })
    expect(data.counters.purges_total).toEqual({ '': 1 })
    const l1 = data.histograms.request_duration_seconds!.L1!
    expect(l1.count).toBe(2)
    // Bucket bounds are inclusive (le): 0.5 ms and 1 ms both fall in the first one.
    expect(l1.buckets[0]).toBe(2)
    expect(data.histograms.request_duration_seconds!.origin!.buckets[LATENCY_BUCKETS.length]).toBe(
      1
    )

    // Acknowledged: nothing left to send.
    expect(await metrics.flush(async (batch) => void sent.push(batch), 100)).toBe(true)
    expect(sent).toHaveLength(1)
  })

  it('retries a failed batch with the same sequence number and never merges it with newer deltas', async () => {
    const metrics = new MetricsAccumulator()
    metrics.increment('purges_total')
    const attempts: StatsBatch[] = []
    const failing = async (batch: StatsBatch) => {
      attempts.push(batch)
      throw new Error('stats down')
    }
    expect(await quietly(() => metrics.flush(failing, 100))).toBe(false)
    metrics.increment('purges_total', {}, 5)
    const delivered: StatsBatch[] = []
    expect(await metrics.flush(async (batch) => void delivered.push(batch), 100)).toBe(true)
    expect(delivered.map((batch) => batch.seq)).toEqual([attempts[0]!.seq, attempts[0]!.seq + 1])
    expect(delivered[0]).toBe(attempts[0])
    expect(delivered[0]!.data.counters.purges_total).toEqual({ '': 1 })
    // The second batch carries the newer deltas and the failure itself.
    expect(delivered[1]!.data.counters).toEqual({
      purges_total: { '': 5 },
      stats_flush_failures_total: { '': 1 },
    })
  })

  it('gives up on a hanging Stats object at the deadline', async () => {
    const metrics = new MetricsAccumulator()
    metrics.increment('purges_total')
    const started = Date.now()
    const ok = await quietly(() => metrics.flush(() => new Promise(() => {}), 50))
    expect(ok).toBe(false)
    expect(Date.now() - started).toBeLessThan(1000)
  })

  it('is due after flushRequests requests or flushIntervalMs, never while a flush is in flight', async () => {
    const metrics = new MetricsAccumulator()
    expect(metrics.flushDue(Date.now(), policy)).toBe(false) // nothing recorded
    metrics.increment('purges_total')
    expect(metrics.flushDue(Date.now(), policy)).toBe(true) // never flushed: interval elapsed
    let release!: () => void
    const acknowledged = new Promise<void>((resolve) => (release = resolve))
    const flushing = metrics.flush(() => acknowledged, 1000)
    metrics.increment('purges_total')
    expect(metrics.flushDue(Date.now(), policy)).toBe(false)
    release()
    await flushing
    const now = Date.now()
    expect(metrics.flushDue(now, policy)).toBe(false) // just flushed, one request only
    for (let i = 0; i < 3; i++) metrics.countRequest()
    expect(metrics.flushDue(now, policy)).toBe(true)
    expect(metrics.flushDue(now + 1000, { ...policy, flushRequests: 100 })).toBe(true)
  })

  it('bounds the series of a metric: extra label values are counted under _other', async () => {
    const metrics = new MetricsAccumulator()
    for (let i = 0; i < MAX_SERIES_PER_METRIC + 50; i++) {
      metrics.increment('l2_failovers_total', { from: `r${i}`, to: 'home' })
    }
    const sent: StatsBatch[] = []
    await metrics.flush(async (batch) => void sent.push(batch), 100)
    const series = sent[0]!.data.counters.l2_failovers_total!
    expect(Object.keys(series)).toHaveLength(MAX_SERIES_PER_METRIC + 1)
    expect(series['_other\u001f_other']).toBe(50)
  })

  it('remembers the latest breaker state per region beside the transition counter', async () => {
    const metrics = new MetricsAccumulator()
    metrics.breakerTransition('eu-west', 'open', 1000)
    metrics.breakerTransition('eu-west', 'half-open', 2000)
    const sent: StatsBatch[] = []
    await metrics.flush(async (batch) => void sent.push(batch), 100)
    expect(sent[0]!.breakers).toEqual({ 'eu-west': { state: 'half-open', at: 2000 } })
    expect(sent[0]!.data.counters.breaker_transitions_total).toEqual({
      'eu-west\u001fopen': 1,
      'eu-west\u001fhalf-open': 1,
    })
  })
})

describe('quantile', () => {
  const histogram = (counts: number[]) => {
    const buckets = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0)
    counts.forEach((count, i) => (buckets[i] = count))
    return { buckets, sum: 0, count: counts.reduce((a, b) => a + b, 0) }
  }

  it('interpolates inside the bucket that holds the rank, as histogram_quantile does', () => {
    // 10 in (0, 1 ms], 10 in (1, 2.5 ms]: the median is the 1 ms bound, p75 halfway up the second.
    const h = histogram([10, 10])
    expect(quantile(h, 0.5)).toBeCloseTo(0.001)
    expect(quantile(h, 0.75)).toBeCloseTo(0.00175)
    expect(quantile(histogram([]), 0.5)).toBeUndefined()
  })

  it('reports the largest finite bound for a quantile in +Inf', () => {
    const h = histogram([])
    h.buckets[LATENCY_BUCKETS.length] = 3
    h.count = 3
    expect(quantile(h, 0.99)).toBe(10)
  })
})
