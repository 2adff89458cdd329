import type { L2Events } from '../l2/regional-l2'
import type { MetricsAccumulator } from './accumulator'

/** What the regional L2 reports, fed into the isolate's metrics. */
export function l2MetricEvents(metrics: MetricsAccumulator): L2Events {
  return {
    failover(from, region) {
      metrics.increment('l2_failovers_total', { from, to: region })
    },
    degraded(operation) {
      metrics.increment('l2_degraded_total', { operation })
    },
    breaker(region, state) {
      metrics.breakerTransition(region, state)
    },
    read(region, seconds) {
      metrics.observe('l2_read_duration_seconds', seconds, { region })
    },
    corrupt() {
      metrics.increment('corrupt_entries_total', { tier: 'L2' })
    },
  }
}
