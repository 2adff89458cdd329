import { OpenAPIHono } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { baseRoutePath } from 'hono/route'
import type { AppEnv } from '../app-env'
import { errorResponse } from '../http/error-response'
import { purge, purgeStatus } from '../purge/service'
import { warm } from '../warm/warm'
import { adminApi, documentRoute, documentSecurity, openApiDocument } from './api-description'
import { bearerAuth } from './bearer-auth'
import { parseJsonBody } from './json-body'
import { createObservabilityRoutes } from './observability-routes'
import { purgeRequestSchema, warmRequestSchema } from './request-schemas'
import type { HealthResponse, WarmResponse } from './response-schemas'

// The schemas moved to request-schemas.ts (the OpenAPI description reads them too); kept importable here.
export { purgeRequestSchema, warmRequestSchema, type PurgeRequest } from './request-schemas'

const notFound = (c: Context<AppEnv>) =>
  errorResponse(404, 'not_found', `No admin endpoint ${c.req.method} ${c.req.path}.`)

/**
 * `/_cache/*`: token-protected health and purge. An OpenAPIHono (a Hono that also holds the OpenAPI
 * registry): each route is documented next to its handler and served at the documented path.
 */
export function createAdminRoutes(): OpenAPIHono<AppEnv> {
  const admin = new OpenAPIHono<AppEnv>()
  documentSecurity(admin)
  // With `admin.hostname`, other hostnames see no admin API at all: not even its public pages.
  admin.use('*', async function adminHostname(c, next) {
    const { hostname } = c.get('proxy').config.admin
    if (hostname !== undefined && c.get('url').hostname !== hostname) return notFound(c)
    await next()
  })
  // Before the admin token check: these take the metrics token too, and the dashboard page is public.
  admin.route('/', createObservabilityRoutes())
  admin.use(
    '*',
    bearerAuth({
      tokens: (c) => [c.get('proxy').config.adminToken],
      disabled: {
        code: 'admin_disabled',
        message: 'The admin API is disabled: set the ADMIN_TOKEN secret.',
      },
    })
  )

  documentRoute(admin, adminApi.health)
  admin.get(adminApi.health.getRoutingPath(), async (c) => {
    const { config, tiers, l2 } = c.get('proxy')
    const [probes, regions] = await Promise.all([
      tiers.probe('/_cache/health-probe'),
      l2?.regional.probe(l2.location.home),
    ])
    // One region down is degraded service (reads fail over), not an outage: only L2 as a whole counts.
    const ok = probes.every((probe) => probe.ok) && (regions?.some((region) => region.ok) ?? true)
    const body: HealthResponse = {
      status: ok ? 'ok' : 'degraded',
      tiers: probes,
      ...(l2 && regions ? { l2: { home: l2.location.home, regions } } : {}),
      origin: config.originUrl.origin,
      routes: config.routes.length,
    }
    return c.json(body, ok ? 200 : 503)
  })

  documentRoute(admin, adminApi.purge)
  admin.post(adminApi.purge.getRoutingPath(), async (c) => {
    const context = c.get('proxy')
    const body = await parseJsonBody(c, purgeRequestSchema, context.config.limits.maxAdminBodyBytes)
    const { durable, ...report } = await purge(context, body, c.req.url)
    return c.json(report, durable ? 200 : 503)
  })

  documentRoute(admin, adminApi.purgeStatus)
  admin.get(adminApi.purgeStatus.getRoutingPath(), async (c) => {
    const id = c.req.param('id')
    const status = await purgeStatus(c.get('proxy'), id)
    if (status === undefined) return errorResponse(404, 'not_found', `No region knows purge ${id}.`)
    return c.json({ id, ...status })
  })

  documentRoute(admin, adminApi.warm)
  admin.post(adminApi.warm.getRoutingPath(), async (c) => {
    const context = c.get('proxy')
    const body = await parseJsonBody(c, warmRequestSchema, context.config.limits.maxAdminBodyBytes)
    const results = await warm(context, body.urls, c.req.url)
    const report: WarmResponse = {
      warmed: results.filter((r) => r.status !== null && r.status < 400).length,
      results,
    }
    return c.json(report)
  })

  // Behind the admin token like the rest: it maps what a stolen token could do, and its readers
  // (the admins) hold the token anyway.
  documentRoute(admin, adminApi.openApi)
  admin.get(adminApi.openApi.getRoutingPath(), (c) => {
    c.header('cache-control', 'no-store')
    // Paths as clients send them: prefixed with where the app mounted this router (`/_cache`).
    return c.json(openApiDocument(admin, baseRoutePath(c)))
  })

  // Nothing under /_cache reaches the origin, known or not.
  admin.all('*', notFound)

  return admin
}
