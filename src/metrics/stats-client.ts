import type { Stats } from '../../durable-objects/stats'
import type { StatsSnapshot } from './series'
import { withDeadline } from '../lib/with-deadline'
import type { BatchSender } from './accumulator'

/** The STATS binding (a chaos wrapper in tests fits it too). */
export type StatsNamespace = DurableObjectNamespace<Stats>

/** One Stats object for the whole deployment. */
export const STATS_INSTANCE = 'global'

function statsObject(namespace: StatsNamespace) {
  return namespace.get(namespace.idFromName(STATS_INSTANCE))
}

export function batchSender(namespace: StatsNamespace): BatchSender {
  return (batch) => statsObject(namespace).record(batch)
}

/** The deployment's totals (and timeline) within `timeoutMs`; else rejects with DeadlineExceeded. */
export function readStats(
  namespace: StatsNamespace,
  timeoutMs: number,
  options: { timeline?: boolean } = {}
): Promise<StatsSnapshot> {
  return withDeadline(
    Promise.resolve().then(() => statsObject(namespace).read(options) as Promise<StatsSnapshot>),
    timeoutMs,
    'stats read'
  )
}
