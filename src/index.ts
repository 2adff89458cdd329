import { env } from 'cloudflare:workers'
import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { createAdminRoutes } from './admin/admin-routes'
import type { AppEnv } from './app-env'
import { loadConfig } from './config/load-config'
import { matchRoute } from './config/route-matcher'
import { errorResponse } from './http/error-response'
import { requestPath } from './http/request-path'
import { l2MetricEvents } from './metrics/l2-events'
import { requestMetrics } from './metrics/middleware'
import { handleCacheable } from './proxy/cache-handler'
import { passThrough } from './proxy/pass-through'
import { requestTiers } from './proxy/request-tiers'
import { rateLimit } from './ratelimit/rate-limit-middleware'

// Fail fast: a Worker with invalid config refuses to start (wrangler dev / deploy show the named field).
loadConfig(env)

const ERROR_CODES: Partial<Record<number, string>> = {
  400: 'invalid_request',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
}

const CACHEABLE_METHODS = new Set(['GET', 'HEAD'])

export const app = new Hono<AppEnv>()

app.use('*', async function proxyContext(c, next) {
  const config = loadConfig(c.env)
  const url = new URL(c.req.url)
  c.set('url', url)
  c.set('path', requestPath(url.pathname))
  const waitUntil = (promise: Promise<unknown>) => c.executionCtx.waitUntil(promise)
  const { tiers, l2 } = requestTiers(config, c.req.raw, url.origin, waitUntil, l2MetricEvents)
  c.set('proxy', { config, tiers, l2, waitUntil })
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
  const ctx = c.var.proxy
  const url = c.var.url
  const { path, ambiguous } = c.var.path
  const route = matchRoute(ctx.config.routes, path)
  if (!CACHEABLE_METHODS.has(request.method)) return passThrough(request, url, ctx, 'method')
  if (route === undefined) return passThrough(request, url, ctx, 'bypass', 'no-route')
  if (route.bypass) return passThrough(request, url, ctx, 'bypass', 'route')
  if (ambiguous) return passThrough(request, url, ctx, 'bypass', 'ambiguous-path')
  return handleCacheable(request, url, route, ctx)
})

app.onError(function onError(error) {
  if (error instanceof HTTPException) {
    return errorResponse(
      error.status,
      ERROR_CODES[error.status] ?? `http_${error.status}`,
      error.message
    )
  }
  console.error(
    JSON.stringify({ level: 'error', message: String(error), stack: (error as Error).stack })
  )
  return errorResponse(500, 'internal_error', 'Internal error.')
})

export { Coalescer } from '../durable-objects/coalescer'
export { RateLimiter } from '../durable-objects/rate-limiter'
export { Stats } from '../durable-objects/stats'

export default app
