import { formatCacheStatus, type ForwardReason } from '../http/cache-status'
import { errorResponse } from '../http/error-response'
import type { FillFailure } from '../fill/fill-result'
import { isTimeout } from '../lib/errors'
import { OriginCircuitOpen } from '../origin/origin-breaker'

/** 504 when the origin missed its deadline, 503 while its breaker is open, 502 otherwise. */
export function originFailure(error: unknown, cacheName: string, fwd: ForwardReason): Response {
  if (error instanceof OriginCircuitOpen) return failureResponse('circuit-open', cacheName, fwd)
  return failureResponse(isTimeout(error) ? 'timeout' : 'error', cacheName, fwd)
}

const FAILURES: Record<FillFailure, { status: number; code: string; message: string }> = {
  timeout: { status: 504, code: 'origin_timeout', message: 'The origin did not answer in time.' },
  error: { status: 502, code: 'origin_unreachable', message: 'The origin could not be reached.' },
  'circuit-open': {
    status: 503,
    code: 'origin_unavailable',
    message: 'The origin is failing; its circuit breaker is open. Retry shortly.',
  },
  status: { status: 502, code: 'origin_error', message: 'The origin answered with an error.' },
}

/** The client's error for a failed fill (its own or the leader's it waited on). */
export function failureResponse(
  reason: FillFailure,
  cacheName: string,
  fwd: ForwardReason,
  fwdStatus?: number,
  collapsed = false
): Response {
  const failure = FAILURES[reason]
  // The leader's origin answered 5xx: its followers answer with the same status.
  const status = reason === 'status' && fwdStatus !== undefined ? fwdStatus : failure.status
  return errorResponse(status, failure.code, failure.message, {
    'cache-status': formatCacheStatus(cacheName, {
      fwd,
      fwdStatus,
      collapsed,
      detail: reason === 'timeout' ? 'origin-timeout' : 'origin-error',
    }),
  })
}
