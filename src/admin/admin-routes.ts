import { Hono, type Context } from 'hono'
import { z } from 'zod'
import type { AppEnv } from '../app-env'
import { errorResponse } from '../http/error-response'
import { purge, purgeStatus } from '../purge/service'
import { warm } from '../warm/warm'
import { bearerAuth } from './bearer-auth'
import { parseJsonBody } from './json-body'
import { createObservabilityRoutes } from './observability-routes'

const MAX_PURGE_URLS = 1000
const MAX_PURGE_KEYS = 1000
const MAX_PURGE_TAGS = 1000
const MAX_PURGE_PREFIXES = 100
const MAX_WARM_URLS = 100

/** A path (`/products/1?x=1`) or an absolute http(s) URL, whose host is ignored: the origin is fixed. */
const purgeUrl = z
  .string()
  .min(1)
  .max(8192)
  .refine(
    (value) => value.startsWith('/') || /^https?:\/\//i.test(value),
    'must be a path starting with "/" or an absolute http(s) URL'
  )
  .refine((value) => URL.canParse(value, 'http://purge.invalid'), 'is not a valid URL')

/** Any mix of URLs, cache keys, tags and key prefixes; `soft` marks stale instead of removing. */
export const purgeRequestSchema = z
  .strictObject({
    urls: z.array(purgeUrl).max(MAX_PURGE_URLS).optional(),
    keys: z.array(z.string().min(1).max(16_384)).max(MAX_PURGE_KEYS).optional(),
    tags: z.array(z.string().min(1).max(256)).max(MAX_PURGE_TAGS).optional(),
    prefixes: z
      .array(z.string().startsWith('/', 'must be a key prefix starting with "/"').max(2048))
      .max(MAX_PURGE_PREFIXES)
      .optional(),
    soft: z.boolean().default(false),
  })
  .refine(
    (body) =>
      (body.urls?.length ?? 0) +
        (body.keys?.length ?? 0) +
        (body.tags?.length ?? 0) +
        (body.prefixes?.length ?? 0) >
      0,
    'names nothing to purge: give urls, keys, tags or prefixes'
  )

export const warmRequestSchema = z.strictObject({
  urls: z.array(purgeUrl).min(1).max(MAX_WARM_URLS),
})

export type PurgeRequest = z.infer<typeof purgeRequestSchema>

const notFound = (c: Context<AppEnv>) =>
  errorResponse(404, 'not_found', `No admin endpoint ${c.req.method} ${c.req.path}.`)

/** `/_cache/*`: token-protected health and purge. */
export function createAdminRoutes(): Hono<AppEnv> {
  const admin = new Hono<AppEnv>()
  // With `admin.hostname`, other hostnames see no admin API at all: not even its public pages.
  admin.use('*', async function adminHostname(c, next) {
    const { hostname } = c.var.proxy.config.admin
    if (hostname !== undefined && c.var.url.hostname !== hostname) return notFound(c)
    await next()
  })
  // Before the admin token check: these take the metrics token too, and the dashboard page is public.
  admin.route('/', createObservabilityRoutes())
  admin.use(
    '*',
    bearerAuth({
      tokens: (c) => [c.var.proxy.config.adminToken],
      disabled: {
        code: 'admin_disabled',
        message: 'The admin API is disabled: set the ADMIN_TOKEN secret.',
      },
    })
  )

  admin.get('/health', async (c) => {
    const { config, tiers, l2 } = c.var.proxy
    const [probes, regions] = await Promise.all([
      tiers.probe('/_cache/health-probe'),
      l2?.regional.probe(l2.location.home),
    ])
    // One region down is degraded service (reads fail over), not an outage: only L2 as a whole counts.
    const ok = probes.every((probe) => probe.ok) && (regions?.some((region) => region.ok) ?? true)
    return c.json(
      {
        status: ok ? 'ok' : 'degraded',
        tiers: probes,
        ...(l2 && regions ? { l2: { home: l2.location.home, regions } } : {}),
        origin: config.originUrl.origin,
        routes: config.routes.length,
      },
      ok ? 200 : 503
    )
  })

  admin.post('/purge', async (c) => {
    const context = c.var.proxy
    const body = await parseJsonBody(c, purgeRequestSchema, context.config.limits.maxAdminBodyBytes)
    const { durable, ...report } = await purge(context, body, c.req.url)
    return c.json(report, durable ? 200 : 503)
  })

  admin.get('/purge/:id', async (c) => {
    const id = c.req.param('id')
    const status = await purgeStatus(c.var.proxy, id)
    if (status === undefined) return errorResponse(404, 'not_found', `No region knows purge ${id}.`)
    return c.json({ id, ...status })
  })

  admin.post('/warm', async (c) => {
    const context = c.var.proxy
    const body = await parseJsonBody(c, warmRequestSchema, context.config.limits.maxAdminBodyBytes)
    const results = await warm(context, body.urls, c.req.url)
    return c.json({
      warmed: results.filter((r) => r.status !== null && r.status < 400).length,
      results,
    })
  })

  // Nothing under /_cache reaches the origin, known or not.
  admin.all('*', notFound)

  return admin
}
