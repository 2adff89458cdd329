import { env } from 'cloudflare:workers'
import type { Stats } from '../../durable-objects/stats'
import type { StatsSnapshot } from './series'
import { withDeadline } from '../lib/with-deadline'
import { isolateFor } from '../runtime/isolate'
import type { BatchSender } from './accumulator'
import type { DurableObjectClass } from './catalogue'

/** The STATS binding (a chaos wrapper in tests fits it too). */
export type StatsNamespace = DurableObjectNamespace<Stats>

/** One Stats object for the whole deployment. */
export const STATS_INSTANCE = 'global'

/**
 * Counts one call on a stub of `className` in this isolate's metrics (`do_requests_total`). For the
 * clients whose callers hand them a binding but no accumulator: the isolate's is found from the
 * Worker's bindings. Never throws (a bad config is reported where the request is handled).
 */
export function countDurableObjectRequest(className: DurableObjectClass): void {
  try {
    isolateFor(env).metrics.increment('do_requests_total', { class: className })
  } catch {
    // no isolate: nothing to count into
  }
}

function statsObject(namespace: StatsNamespace) {
  countDurableObjectRequest('Stats')
  return namespace.get(namespace.idFromName(STATS_INSTANCE))
}

export function batchSender(namespace: StatsNamespace): BatchSender {
  return (batch) => statsObject(namespace).record(batch)
}

/** The `n` paths most requested lately (for warming) within `timeoutMs`; else rejects. */
export function readTopPaths(
  namespace: StatsNamespace,
  n: number,
  timeoutMs: number
): Promise<string[]> {
  return withDeadline(
    Promise.resolve().then(() => statsObject(namespace).topPaths(n) as Promise<string[]>),
    timeoutMs,
    'stats top paths'
  )
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
