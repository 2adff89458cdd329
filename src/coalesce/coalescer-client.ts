import { env } from 'cloudflare:workers'
import type { Config } from '../config/load-config'
import type { Isolate } from '../runtime/isolate'
import { DeadlineExceeded } from '../lib/errors'
import { log } from '../lib/log'
import { withDeadline } from '../lib/with-deadline'
import type { FillAnswer, FillRequest } from './protocol'
import { coalescerName } from './shard'
import { sleep } from '../lib/sleep'

/** The follower's own wait (its deadline passing is a `timeout` answer, not a broken object). */
const FOLLOWER_WAIT = 'coalescer wait'

/** The Coalescer's answer, or `timeout`: the wait outlasted `coalescer.waitTimeoutMs`. */
export type CoalesceResult = FillAnswer | { readonly kind: 'timeout' }

/** How long a caller waits for the leader's fill. */
export function followerWaitMs(config: Config): number {
  return config.coalescer.waitTimeoutMs ?? config.origin.timeoutMs + 1000
}

/**
 * Asks the key's Coalescer object to fill it. `undefined` means "fetch for yourself": coalescing is
 * off, the binding is missing, or the object failed (a broken Coalescer never fails a request).
 */
export async function askCoalescer(
  isolate: Isolate,
  request: FillRequest
): Promise<CoalesceResult | undefined> {
  const { config } = isolate
  // Coalescer objects that throw (not ones that are merely slow) are skipped for a while: the
  // Worker then fetches directly, as it would without them.
  const unavailable = isolate.coalescerBreaker
  const namespace = env.COALESCER
  if (!config.coalescer.enabled || namespace === undefined) return undefined
  if (!unavailable.allow(Date.now())) return undefined
  const settings = config.coalescer
  const name = coalescerName(request.primary, settings, config.l2 ? request.home : undefined)
  const hint = request.home === undefined ? undefined : settings.locationHints[request.home]
  const waitMs = followerWaitMs(config)
  try {
    const stub = namespace.get(namespace.idFromName(name), hint ? { locationHint: hint } : {})
    const fill = () => {
      isolate.metrics.increment('do_requests_total', { class: 'Coalescer' })
      return stub.fill(request)
    }
    const call = async (): Promise<FillAnswer> => {
      try {
        return (await fill()) as FillAnswer
      } catch (error) {
        // An object with too many queued calls sheds load: one retry, spread out, before going direct.
        if (!(error as { overloaded?: boolean }).overloaded) throw error
        await sleep(20 + Math.random() * 80)
        return (await fill()) as FillAnswer
      }
    }
    const answer = await withDeadline(call(), waitMs, FOLLOWER_WAIT)
    unavailable.success()
    return answer
  } catch (error) {
    if (error instanceof DeadlineExceeded && error.operation === FOLLOWER_WAIT)
      return { kind: 'timeout' }
    unavailable.failure(Date.now())
    log.warn('coalescer_unavailable', { name, error })
    return undefined
  }
}
