import { env } from 'cloudflare:workers'
import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { createAdminRoutes } from './admin/admin-routes'
import type { AppEnv } from './app-env'
import { createCacheApiTier } from './cache/l1-cache-api'
import { createMemoryTier } from './cache/memory-tier'
import { createTierStack, type TierStack } from './cache/tier-stack'
import type { CacheTier } from './cache/tier'
import { loadConfig, type Config } from './config/load-config'
import { matchRoute } from './config/route-matcher'
import { errorResponse } from './http/error-response'
import { handleCacheable } from './proxy/cache-handler'
import { passThrough } from './proxy/pass-through'
import { rateLimit } from './ratelimit/rate-limit-middleware'

// Fail fast: a Worker with invalid config refuses to start (wrangler dev / deploy show the named field).
loadConfig(env)

interface IsolateTiers {
  /** One hot tier per isolate: keys do not include the host (the origin is fixed), so hosts share it. */
  readonly memory: CacheTier | undefined
  readonly stacks: Map<string, TierStack>
}

const MAX_STACKS = 16
const isolateTiers = new WeakMap<Config, IsolateTiers>()

/** memory → L1. L1 keys live under the Worker's own hostname (the Cache API is per zone). Bounded. */
function tiersFor(config: Config, origin: string): TierStack {
  let tiers = isolateTiers.get(config)
  if (!tiers) {
    const { maxEntries, maxBytes, maxAgeMs } = config.memory
    const enabled = maxEntries > 0 && maxBytes > 0 && maxAgeMs > 0
    tiers = { memory: enabled ? createMemoryTier(config.memory) : undefined, stacks: new Map() }
    isolateTiers.set(config, tiers)
  }
  let stack = tiers.stacks.get(origin)
  if (!stack) {
    if (tiers.stacks.size >= MAX_STACKS) tiers.stacks.clear()
    const l1 = createCacheApiTier(config.cacheName, origin)
    stack = createTierStack(tiers.memory ? [tiers.memory, l1] : [l1])
    tiers.stacks.set(origin, stack)
  }
  return stack
}

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
  c.set('proxy', {
    config,
    tiers: tiersFor(config, url.origin),
    waitUntil: (promise) => c.executionCtx.waitUntil(promise),
  })
  await next()
})

app.use(
  '*',
  rateLimit((bindings) => bindings.RATE_LIMITER)
)

app.route('/_cache', createAdminRoutes())

app.all('*', async function edgeCache(c) {
  const request = c.req.raw
  const ctx = c.var.proxy
  const url = c.var.url
  const route = matchRoute(ctx.config.routes, url.pathname)
  if (!CACHEABLE_METHODS.has(request.method)) return passThrough(request, url, ctx, 'method')
  if (route === undefined) return passThrough(request, url, ctx, 'bypass', 'no-route')
  if (route.bypass) return passThrough(request, url, ctx, 'bypass', 'route')
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

export { RateLimiter } from '../durable-objects/rate-limiter'

export default app
