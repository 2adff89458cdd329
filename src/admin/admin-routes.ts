import { Hono } from 'hono'
import { z } from 'zod'
import { primaryKeyForUrl } from '../cache/invalidate'
import type { AppEnv } from '../app-env'
import { errorResponse } from '../http/error-response'
import { bearerAuth } from './bearer-auth'
import { parseJsonBody } from './json-body'
import { createObservabilityRoutes } from './observability-routes'

const MAX_PURGE_URLS = 1000

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

export const purgeRequestSchema = z.strictObject({
  urls: z.array(purgeUrl).min(1).max(MAX_PURGE_URLS),
})

export type PurgeRequest = z.infer<typeof purgeRequestSchema>

/** `/_cache/*`: token-protected health and purge. */
export function createAdminRoutes(): Hono<AppEnv> {
  const admin = new Hono<AppEnv>()
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
    const results = await Promise.all(
      body.urls.map(async (value) => {
        const url = new URL(value, c.req.url)
        const key = primaryKeyForUrl(url, config)
        const result = { url: value, key: key ?? null, cacheable: key !== undefined }
        if (key === undefined) return { ...result, deleted: false }
        try {
          return { ...result, deleted: await tiers.delete(key) }
        } catch (error) {
          // Some tier (an L2 region) was not reached: say so, the caller retries.
          return { ...result, deleted: false, error: String(error) }
        }
      })
    )
    const failed = results.filter((result) => 'error' in result).length
    return c.json(
      {
        scope: `memory (this isolate), L1 (this colo)${config.l2 ? ', L2 (every region)' : ''}`,
        purged: results.filter((result) => result.deleted).length,
        failed,
        results,
      },
      failed > 0 ? 502 : 200
    )
  })

  // Nothing under /_cache reaches the origin, known or not.
  admin.all('*', (c) =>
    errorResponse(404, 'not_found', `No admin endpoint ${c.req.method} ${c.req.path}.`)
  )

  return admin
}
