import { describe, expect, it } from 'vitest'
import { MetricsAccumulator } from '../../src/metrics/accumulator'
import { renderExposition } from '../../src/metrics/exposition'
import { emptySeries } from '../../src/metrics/series'
import { parseExposition } from '../helpers/prometheus'

function totalsOf(record: (metrics: MetricsAccumulator) => void) {
  const metrics = new MetricsAccumulator()
  record(metrics)
  return metrics.unsent()
}

describe('renderExposition (Prometheus text format 0.0.4)', () => {
  it('writes HELP, TYPE and samples per series, histograms with cumulative buckets', () => {
    const totals = totalsOf((metrics) => {
      metrics.increment('requests_total', { outcome: 'hit', tier: 'memory' }, 3)
      metrics.increment('requests_total', { outcome: 'miss', tier: 'origin' })
      metrics.observe('request_duration_seconds', 0.002, { tier: 'memory' })
      metrics.observe('request_duration_seconds', 0.2, { tier: 'origin' })
      metrics.observe('request_duration_seconds', 0.004, { tier: 'memory' })
    })
    const text = renderExposition({ totals, breakers: {}, batches: 2 })
    expect(text).toContain(
      [
        '# HELP edge_cache_requests_total Requests answered, by outcome (from Cache-Status) and the farthest tier reached.',
        '# TYPE edge_cache_requests_total counter',
        'edge_cache_requests_total{outcome="hit",tier="memory"} 3',
        'edge_cache_requests_total{outcome="miss",tier="origin"} 1',
      ].join('\n')
    )
    expect(text).toContain(
      [
        'edge_cache_request_duration_seconds_bucket{tier="memory",le="0.001"} 0',
        'edge_cache_request_duration_seconds_bucket{tier="memory",le="0.0025"} 1',
        'edge_cache_request_duration_seconds_bucket{tier="memory",le="0.005"} 2',
      ].join('\n')
    )
    expect(text).toContain('edge_cache_request_duration_seconds_bucket{tier="memory",le="+Inf"} 2')
    expect(text).toContain('edge_cache_request_duration_seconds_sum{tier="memory"} 0.006')
    expect(text).toContain('edge_cache_request_duration_seconds_count{tier="memory"} 2')
    expect(text).toContain('edge_cache_purges_total 0')
    expect(text).toContain('edge_cache_stats_batches_total 2')
    expect(text.endsWith('\n')).toBe(true)

    const { values } = parseExposition(text)
    expect(values.get('edge_cache_requests_total{outcome="hit",tier="memory"}')).toBe(3)
    expect(values.get('edge_cache_request_duration_seconds_count{tier="origin"}')).toBe(1)
    expect(values.get('edge_cache_request_duration_seconds_bucket{le="0.25",tier="origin"}')).toBe(
      1
    )
    expect(values.get('edge_cache_request_duration_seconds_bucket{le="0.1",tier="origin"}')).toBe(0)
  })

  it('escapes label values so the parser reads them back unchanged', () => {
    const region = 'eu "west"\\1\nb'
    const totals = totalsOf((metrics) => metrics.breakerTransition(region, 'open', 1))
    const text = renderExposition({
      totals,
      breakers: { [region]: { state: 'open', at: 1 } },
      batches: 1,
    })
    expect(text).toContain('region="eu \\"west\\"\\\\1\\nb"')
    const { families } = parseExposition(text)
    const gauge = families.find((family) => family.name === 'edge_cache_breaker_state')!
    expect(gauge.type).toBe('GAUGE')
    expect(gauge.metrics.find((sample) => sample.value === '1')?.labels).toEqual({
      region,
      state: 'open',
    })
    expect(gauge.metrics).toHaveLength(3)
  })

  it("exports memory evictions with the counters, and each region's INFO evicted_keys", () => {
    const totals = totalsOf((metrics) => metrics.increment('memory_evictions_total', {}, 5))
    const text = renderExposition({
      totals,
      breakers: {},
      batches: 1,
      l2EvictedKeys: { 'us-east': 3, 'eu-west': 0 },
    })
    const { families, values } = parseExposition(text)
    expect(values.get('edge_cache_memory_evictions_total')).toBe(5)
    const evicted = families.find((family) => family.name === 'edge_cache_l2_evicted_keys_total')!
    expect(evicted.type).toBe('COUNTER')
    expect(evicted.metrics.map((sample) => [sample.labels?.region, sample.value])).toEqual([
      ['eu-west', '0'],
      ['us-east', '3'],
    ])
    // Unknown (no L2, or no region answered): the family with no sample.
    const none = renderExposition({ totals, breakers: {}, batches: 1 })
    expect(none).toContain('# TYPE edge_cache_l2_evicted_keys_total counter')
    expect(none).not.toMatch(/^edge_cache_l2_evicted_keys_total\{/m)
  })

  it('is valid with no data at all', () => {
    const text = renderExposition({ totals: emptySeries(), breakers: {}, batches: 0 })
    const { families } = parseExposition(text)
    expect(families.map((family) => family.name)).toContain('edge_cache_requests_total')
  })
})
