import { Hono, type Context } from 'hono'
import { z } from 'zod'
import { primaryKeyForUrl } from '../cache/invalidate'
import { matchRoute } from '../config/route-matcher'
import { handleCacheable } from '../proxy/cache-handler'
import { purgeScopeOf } from '../proxy/request-tiers'
import type { AppEnv } from '../app-env'
import { errorResponse } from '../http/error-response'
import { requestPath } from '../http/request-path'
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
  admin.use('*', async (c, next) => bearerAuth(() => c.var.proxy.config.adminToken)(c, next))

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
    const { config, tiers } = c.var.proxy
    const body = await parseJsonBody(c, purgeRequestSchema, config.limits.maxAdminBodyBytes)
    const results = (body.urls ?? []).map((value) => {
      const key = primaryKeyForUrl(new URL(value, c.req.url), config)
      return { url: value, key: key ?? null, cacheable: key !== undefined }
    })
    const urlKeys = results.flatMap((result) => (result.key === null ? [] : [result.key]))
    const keys = [...new Set([...urlKeys, ...(body.keys ?? [])])]
    const purging = purgeScopeOf(tiers)
    if (purging === undefined) throw new Error('no purge scope for this request')
    // URL results say whether this colo held a copy (the purge itself reaches every copy).
    const held = await Promise.all(
      results.map((result) => (result.key === null ? false : purging.scope.holds(result.key)))
    )
    const { record, outcomes, pending } = await purging.scope.publish(
      { keys, tags: body.tags ?? [], prefixes: body.prefixes ?? [], soft: body.soft },
      purging.home
    )
    c.executionCtx.waitUntil(pending)
    const recorded = outcomes.filter((outcome) => outcome.ok).map((outcome) => outcome.region)
    const missed = outcomes.filter((outcome) => !outcome.ok)
    // Durable means in at least one region's log; the others catch up from it (or are down).
    const durable = config.l2 === undefined || recorded.length > 0
    return c.json(
      {
        id: record.id,
        at: record.at,
        soft: record.soft,
        boundMs: config.purge.boundMs,
        scope: config.l2
          ? 'every region (L2 and log) and every colo (memory and L1) within boundMs'
          : 'memory (this isolate) and L1 (this colo)',
        regions: { recorded, missed },
        purged: held.filter(Boolean).length,
        results: results.map((result, i) => ({ ...result, deleted: held[i]! })),
        status: `/_cache/purge/${record.id}`,
      },
      durable ? 200 : 503
    )
  })

  admin.get('/purge/:id', async (c) => {
    const { tiers } = c.var.proxy
    const id = c.req.param('id')
    const purging = purgeScopeOf(tiers)
    const log = purging?.scope.log
    if (log === undefined || purging?.home === undefined) {
      return purging?.scope.view.has(id)
        ? c.json({ id, applied: true, regions: {} })
        : errorResponse(404, 'not_found', `No purge ${id} in this isolate.`)
    }
    const regions = await log.status(purging.home, id)
    const values = Object.values(regions)
    if (values.every((value) => value !== true) && !purging.scope.view.has(id))
      return errorResponse(404, 'not_found', `No region knows purge ${id}.`)
    return c.json({ id, applied: values.every((value) => value === true), regions })
  })

  admin.post('/warm', async (c) => {
    const ctx = c.var.proxy
    const body = await parseJsonBody(c, warmRequestSchema, ctx.config.limits.maxAdminBodyBytes)
    const results: Array<{ url: string; status: number | null; cacheStatus: string | null }> = []
    // A few at a time, through the normal miss path (the coalescer when it is on).
    const queue = [...body.urls.entries()]
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const [i, value] = next
        const url = new URL(value, c.req.url)
        const { path, ambiguous } = requestPath(url.pathname)
        const route = matchRoute(ctx.config.routes, path)
        if (route === undefined || route.bypass || ambiguous) {
          results[i] = { url: value, status: null, cacheStatus: null }
          continue
        }
        const response = await handleCacheable(new Request(url, { method: 'GET' }), url, route, ctx)
        await response.body?.cancel()
        results[i] = {
          url: value,
          status: response.status,
          cacheStatus: response.headers.get('cache-status'),
        }
      }
    }
    await Promise.all(Array.from({ length: 6 }, worker))
    return c.json({
      warmed: results.filter((r) => r.status !== null && r.status < 400).length,
      results,
    })
  })

  // Nothing under /_cache reaches the origin, known or not.
  admin.all('*', notFound)

  return admin
}
