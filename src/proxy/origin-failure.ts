import { formatCacheStatus, type ForwardReason } from '../http/cache-status'
import { errorResponse } from '../http/error-response'

/** 504 when the origin missed its deadline, 502 when it could not be reached or answered garbage. */
export function originFailure(error: unknown, cacheName: string, fwd: ForwardReason): Response {
  const timedOut =
    error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')
  const status = timedOut ? 504 : 502
  return errorResponse(
    status,
    timedOut ? 'origin_timeout' : 'origin_unreachable',
    timedOut ? 'The origin did not answer in time.' : 'The origin could not be reached.',
    {
      'cache-status': formatCacheStatus(cacheName, {
        fwd,
        detail: timedOut ? 'origin-timeout' : 'origin-error',
      }),
    }
  )
}
