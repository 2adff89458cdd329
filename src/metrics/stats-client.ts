import type { Stats, StatsSnapshot } from '../../durable-objects/stats'
import { withDeadline } from '../lib/with-deadline'
import type { BatchSender } from './accumulator'

/** The STATS binding (a chaos wrapper in tests fits it too). */
export type StatsNamespace = DurableObjectNamespace<Stats>

/** One Stats object for the whole deployment. */
export const STATS_INSTANCE = 'global'

class StatsUnavailable extends Error {
  static readonly code = 'E_STATS_UNAVAILABLE'
}

function statsObject(namespace: StatsNamespace) {
  return namespace.get(namespace.idFromName(STATS_INSTANCE))
}

export function batchSender(namespace: StatsNamespace): BatchSender {
  return (batch) => statsObject(namespace).record(batch)
}

/** The deployment's totals (and timeline), within `timeoutMs`; rejects with StatsUnavailable. */
export function readStats(
  namespace: StatsNamespace,
  timeoutMs: number,
  options: { timeline?: boolean } = {}
): Promise<StatsSnapshot> {
  return withDeadline(
    Promise.resolve().then(() => statsObject(namespace).read(options) as Promise<StatsSnapshot>),
    timeoutMs,
    () => new StatsUnavailable(`no answer within ${timeoutMs} ms`)
  )
}
