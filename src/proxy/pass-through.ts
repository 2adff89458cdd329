import { normalizePath } from '../cache/cache-key'
import { primaryKeyForUrl } from '../cache/invalidate'
import { matchRoute } from '../config/route-matcher'
import { requestPath } from '../http/request-path'
import type { ForwardReason } from '../http/cache-status'
import { log } from '../lib/log'
import { fetchOrigin, originUrlFor, passThroughHeaders } from '../origin/origin-request'
import type { RequestContext } from '../runtime/request-context'
import { warmUrl } from '../warm/warm'
import { forwardResponse } from './respond'
import { originFailure } from './origin-failure'

/**
 * Methods known to be safe (RFC 9110 §9.2.1, and WebDAV's read-only ones). Every other method,
 * extension methods included, is unsafe for invalidation: RFC 9111 §4.4 says "including methods
 * whose safety is unknown".
 */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'REPORT', 'SEARCH', 'QUERY'])
const WITHOUT_BODY = new Set(['GET', 'HEAD'])

/**
 * Sends a request to the origin without caching it: bypassed routes, uncacheable methods, requests we
 * must not share. Unsafe methods (any method not known to be safe) that succeed invalidate what
 * they touched (RFC 9111 §4.4).
 */
export async function passThrough(
  request: Request,
  url: URL,
  context: RequestContext,
  fwd: ForwardReason,
  detail?: string
): Promise<Response> {
  const { config } = context
  // Whatever passes through reaches the origin: miss-rate limits count it.
  const refused = await context.originGate?.admit()
  if (refused) return refused
  // The normalised path, as routes and rules saw it; the query goes as the client sent it.
  const target = originUrlFor(config, normalizePath(url.pathname), url.search)
  let result
  try {
    result = await fetchOrigin(
      target,
      {
        method: request.method,
        headers: passThroughHeaders(request.headers),
        body: WITHOUT_BODY.has(request.method) ? null : request.body,
      },
      config.origin.timeoutMs
    )
  } catch (error) {
    return originFailure(error, config.statusName, fwd)
  }
  const { response } = result
  // Awaited, not deferred: the client that wrote must read its own write on the next request.
  // A non-error answer (2xx/3xx) to an unsafe method invalidates what it touched (RFC 9111 §4.4).
  if (!SAFE.has(request.method) && response.status >= 200 && response.status < 400) {
    try {
      await invalidateTouched(url, response.headers, context)
    } catch (error) {
      // The origin applied the write: its answer still goes to the client; the stale copy expires.
      log.error('invalidation_failed', { url: url.pathname, error })
    }
  }
  return forwardResponse(
    response,
    config.statusName,
    { fwd, detail },
    request.method,
    undefined,
    config.targetedCacheControl
  )
}

/** The request URL plus same-host Location / Content-Location (RFC 9111 §4.4). */
async function invalidateTouched(
  url: URL,
  headers: Headers,
  context: RequestContext
): Promise<void> {
  const targets = [url]
  for (const name of ['location', 'content-location']) {
    const value = headers.get(name)
    if (!value) continue
    try {
      const touched = new URL(value, url)
      if (touched.host === url.host || touched.host === context.config.originUrl.host)
        targets.push(touched)
    } catch {
      // An unparsable Location names nothing we store.
    }
  }
  const keys = targets.flatMap((target) => primaryKeyForUrl(target, context.config) ?? [])
  if (keys.length === 0) return
  const purging = context.purge
  // The same path as the purge API: this colo at once, every region's log and L2 before we answer.
  const { outcomes } = await purging.scope.publish(
    { keys, tags: [], prefixes: [], soft: false },
    purging.home
  )
  if (outcomes.length > 0 && outcomes.every((outcome) => !outcome.ok))
    throw new Error(
      `no region recorded the invalidation: ${outcomes.map((o) => o.error).join('; ')}`
    )
  // Write-through routes are refilled after the invalidation, off the response's path: the fill
  // begins after the purge, so its fence lets it land, and a reader meanwhile joins it.
  for (const target of targets) {
    const route = matchRoute(context.config.routes, requestPath(target.pathname).path)
    if (route?.writeThrough !== true || route.bypass) continue
    context.waitUntil(
      warmUrl(context, target.pathname + target.search, url.origin).catch((error: unknown) =>
        log.warn('write_through_failed', { url: target.pathname, error })
      )
    )
  }
}
