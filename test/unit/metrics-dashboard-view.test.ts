import { describe, expect, it } from 'vitest'
import type { StatsSnapshot } from '../../durable-objects/stats'
import { MetricsAccumulator } from '../../src/metrics/accumulator'
import { dashboardView } from '../../src/metrics/dashboard-view'
import { mergeSeries, emptySeries } from '../../src/metrics/series'

function series(record: (metrics: MetricsAccumulator) => void) {
  const metrics = new MetricsAccumulator()
  record(metrics)
  return metrics.unsent()
}

describe('dashboardView', () => {
  const first = series((m) => {
    m.increment('requests_total', { outcome: 'hit', tier: 'memory' }, 6)
    m.increment('requests_total', { outcome: 'hit', tier: 'L1' }, 2)
    m.increment('requests_total', { outcome: 'miss', tier: 'origin' }, 2)
    m.increment('requests_total', { outcome: 'pass', tier: 'origin' }, 5)
    m.increment('origin_fetches_total', { reason: 'miss' }, 2)
    m.observe('request_duration_seconds', 0.0005, { tier: 'memory' })
  })
  const second = series((m) => {
    m.increment('requests_total', { outcome: 'stale', tier: 'L1' }, 1)
    m.increment('requests_total', { outcome: 'miss', tier: 'origin' }, 3)
    m.increment('stale_served_total', { reason: 'swr' })
  })
  const totals = emptySeries()
  mergeSeries(totals, first)
  mergeSeries(totals, second)
  const snapshot: StatsSnapshot = {
    totals,
    breakers: { 'eu-west': { state: 'open', at: 5000 } },
    batches: 2,
    since: 1000,
    now: 10_500,
    bucketMs: 2000,
    timeline: [
      { t: 4000, data: first },
      { t: 8000, data: second },
      // Still filling: not a point yet.
      { t: 10_000, data: second },
    ],
  }

  it('totals: hit ratio over lookups (pass-through excluded), per tier, stale and origin fetches', () => {
    const view = dashboardView(snapshot, undefined)
    expect(view.totals.requests).toBe(19)
    expect(view.totals.lookups).toBe(14)
    expect(view.totals.hitRatio).toBeCloseTo(9 / 14)
    expect(view.totals.tiers.memory.hitRatio).toBeCloseTo(6 / 14)
    expect(view.totals.tiers.L1.hitRatio).toBeCloseTo(3 / 14)
    expect(view.totals.tiers.origin.hitRatio).toBeNull()
    expect(view.totals.staleServed).toEqual({ swr: 1, sie: 0 })
    expect(view.totals.originFetches).toBe(2)
    expect(view.totals.tiers.memory.p50Ms).toBe(0.5)
  })

  it('series: one point per complete bucket, gaps filled with zero, rates per second', () => {
    const view = dashboardView(snapshot, undefined)
    expect(view.series.t).toEqual([4, 6, 8])
    expect(view.series.requestsPerSec).toEqual([7.5, 0, 2])
    expect(view.series.hitRatio.all).toEqual([0.8, null, 0.25])
    expect(view.series.hitRatio.memory).toEqual([0.6, null, 0])
    expect(view.series.stalePerSec).toEqual([0, 0, 0.5])
  })

  it('regions: configured ones and any that reported, with the latest breaker state', () => {
    const view = dashboardView(snapshot, ['us-east', 'eu-west'])
    expect(view.l2.configured).toBe(true)
    expect(view.l2.regions.map((r) => [r.region, r.state])).toEqual([
      ['eu-west', 'open'],
      ['us-east', 'closed'],
    ])
    expect(dashboardView({ ...snapshot, breakers: {} }, undefined).l2).toEqual({
      configured: false,
      regions: [],
    })
  })

  it("evictions: the memory tier's summed, the regions' as their INFO last said", () => {
    const evicting = series((m) => m.increment('memory_evictions_total', {}, 4))
    const withEvictions = structuredClone(snapshot)
    mergeSeries(withEvictions.totals, evicting)
    withEvictions.timeline![1] = { t: 8000, data: evicting }
    const unread = dashboardView(withEvictions, ['us-east', 'eu-west'])
    expect(unread.totals.evictions).toEqual({ memory: 4, l2: null })
    expect(unread.l2.regions.map((r) => r.evictedKeys)).toEqual([null, null])
    expect(unread.series.evictionsPerSec).toEqual([0, 0, 2])
    const read = dashboardView(withEvictions, ['us-east', 'eu-west'], { 'us-east': 7 })
    expect(read.totals.evictions).toEqual({ memory: 4, l2: 7 })
    expect(read.l2.regions.map((r) => [r.region, r.evictedKeys])).toEqual([
      ['eu-west', null],
      ['us-east', 7],
    ])
  })
})
