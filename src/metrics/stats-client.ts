import type { Stats } from '../../durable-objects/stats'
import type { StatsSnapshot } from './series'
import { withDeadline } from '../lib/with-deadline'
import type { BatchSender, MetricsAccumulator } from './accumulator'

/** The STATS binding (a chaos wrapper in tests fits it too). */
export type StatsNamespace = DurableObjectNamespace<Stats>

/** One Stats object for the whole deployment. */
export const STATS_INSTANCE = 'global'

/** The Stats object, its call counted in `metrics` (`do_requests_total`). */
function statsObject(namespace: StatsNamespace, metrics: MetricsAccumulator) {
  metrics.increment('do_requests_total', { class: 'Stats' })
  return namespace.get(namespace.idFromName(STATS_INSTANCE))
}

export function batchSender(namespace: StatsNamespace, metrics: MetricsAccumulator): BatchSender {
  return (batch) => statsObject(namespace, metrics).record(batch)
}

/** The `n` paths most requested lately (for warming) within `timeoutMs`; else rejects. */
export function readTopPaths(
  namespace: StatsNamespace,
  metrics: MetricsAccumulator,
  n: number,
  timeoutMs: number
): Promise<string[]> {
  return withDeadline(
    Promise.resolve().then(() => statsObject(namespace, metrics).topPaths(n) as Promise<string[]>),
    timeoutMs,
    'stats top paths'
  )
}

/** The deployment's totals (and timeline) within `timeoutMs`; else rejects with DeadlineExceeded. */
export function readStats(
  namespace: StatsNamespace,
  metrics: MetricsAccumulator,
  timeoutMs: number,
  options: { timeline?: boolean } = {}
): Promise<StatsSnapshot> {
  return withDeadline(
    Promise.resolve().then(
      () => statsObject(namespace, metrics).read(options) as Promise<StatsSnapshot>
    ),
    timeoutMs,
    'stats read'
  )
}
