import { env } from 'cloudflare:workers'
import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { createAdminRoutes } from './admin/admin-routes'
import type { AppEnv } from './app-env'
import { matchRoute } from './config/route-matcher'
import { penetrationVerdict } from './guard/membership'
import { errorResponse } from './http/error-response'
import { log } from './lib/log'
import { requestPath } from './http/request-path'
import { requestMetrics } from './metrics/middleware'
import { handleCacheable } from './proxy/cache-handler'
import { passThrough } from './proxy/pass-through'
import { rateLimit } from './ratelimit/rate-limit-middleware'
import { isolateFor } from './runtime/isolate'
import { requestContext } from './runtime/request-context'
import { scheduledWarming } from './warm/scheduled'

// Fail fast: a Worker with invalid config refuses to start (wrangler dev / deploy show the named field).
isolateFor(env)

const ERROR_CODES: Partial<Record<number, string>> = {
  400: 'invalid_request',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
}

const CACHEABLE_METHODS = new Set(['GET', 'HEAD'])

export const app = new Hono<AppEnv>()

app.use('*', async function proxyContext(c, next) {
  const isolate = isolateFor(c.env)
  const url = new URL(c.req.url)
  c.set('url', url)
  c.set('path', requestPath(url.pathname))
  const waitUntil = (promise: Promise<unknown>) => c.executionCtx.waitUntil(promise)
  c.set('proxy', requestContext(isolate, c.req.raw, url.origin, waitUntil))
  await next()
})

// Every request counted once, from its final response (Cache-Status, 429s included).
app.use(
  '*',
  requestMetrics((bindings) => bindings.STATS)
)

app.use(
  '*',
  rateLimit((bindings) => bindings.RATE_LIMITER)
)

app.route('/_cache', createAdminRoutes())

app.all('*', async function edgeCache(c) {
  const request = c.req.raw
  const context = c.get('proxy')
  const url = c.get('url')
  const { path, ambiguous } = c.get('path')
  const route = matchRoute(context.config.routes, path)
  // PURGE is this cache's word, not the origin's: forwarded, an origin's 2xx would invalidate the
  // URL (RFC 9111 §4.4) and any client could purge. Purges go through the authenticated API only.
  if (request.method === 'PURGE') {
    return errorResponse(
      405,
      'method_not_allowed',
      'PURGE is not forwarded; purge through the authenticated POST /_cache/purge.',
      { allow: 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS' }
    )
  }
  if (!CACHEABLE_METHODS.has(request.method)) return passThrough(request, url, context, 'method')
  // Penetration guard: an id the origin's list certainly lacks never reaches the origin, however
  // the path is spelled (before the route checks: a spelling must not dodge it into a pass-through).
  const spellings = c.get('path').ruleSpellings
  if (penetrationVerdict(context, context.config.routes, spellings) === 'absent') {
    return errorResponse(404, 'not_found', 'No such id (the origin’s id list lacks it).', {
      'cache-status': `${context.config.statusName}; detail=membership-absent`,
    })
  }
  if (route === undefined) return passThrough(request, url, context, 'bypass', 'no-route')
  if (route.bypass) return passThrough(request, url, context, 'bypass', 'route')
  if (ambiguous) return passThrough(request, url, context, 'bypass', 'ambiguous-path')
  return handleCacheable(request, url, route, context)
})

app.onError(function onError(error) {
  if (error instanceof HTTPException) {
    return errorResponse(
      error.status,
      ERROR_CODES[error.status] ?? `http_${error.status}`,
      error.message
    )
  }
  log.error('unhandled_error', { message: String(error), stack: (error as Error).stack })
  return errorResponse(500, 'internal_error', 'Internal error.')
})

export { Coalescer } from '../durable-objects/coalescer'
export { PurgeFeed } from '../durable-objects/purge-feed'
export { PurgeJournal } from '../durable-objects/purge-journal'
export { RateLimiter } from '../durable-objects/rate-limiter'
export { Stats } from '../durable-objects/stats'

// Cron Triggers warm `warming.urls`; the app stays the default export's fetch (and its routes).
export default Object.assign(app, { scheduled: scheduledWarming })
