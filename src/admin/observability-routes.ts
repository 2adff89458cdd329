import { OpenAPIHono } from '@hono/zod-openapi'
import type { Context } from 'hono'
import type { AppEnv } from '../app-env'
import { errorResponse } from '../http/error-response'
import { DASHBOARD_ASSETS, DASHBOARD_CSP, DASHBOARD_PAGE } from '../metrics/dashboard/assets'
import { dashboardView } from '../metrics/dashboard-view'
import { EXPOSITION_CONTENT_TYPE, renderExposition } from '../metrics/exposition'
import { mergeSeries } from '../metrics/series'
import { batchSender, readStats } from '../metrics/stats-client'
import { adminApi, documentRoute } from './api-description'
import { metricsAuth } from './metrics-auth'
import type { StatsResponse } from './response-schemas'

const PAGE_HEADERS = {
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
}

/**
 * Flushes this isolate's deltas (so the caller sees its own traffic), then reads the deployment's
 * totals from the Stats object; both within `metrics.timeoutMs`. When the flush failed, the deltas
 * never sent are added to what is shown. Meanwhile the L2 regions' evicted keys are read (INFO, at
 * most every `metrics.l2InfoIntervalMs` per isolate; never throws).
 */
async function deploymentStats(c: Context<AppEnv>, timeline: boolean) {
  const namespace = c.env.STATS
  if (!namespace) return undefined
  const { timeoutMs } = c.get('proxy').config.metrics
  const { metrics, l2Evictions } = c.get('proxy').isolate
  const home = c.get('proxy').l2?.location.home
  const evictions = l2Evictions && home !== undefined ? l2Evictions.read(home) : undefined
  const flushed = await metrics.flush(batchSender(namespace, metrics), timeoutMs)
  const snapshot = await readStats(namespace, metrics, timeoutMs, { timeline })
  if (!flushed) mergeSeries(snapshot.totals, metrics.unsent())
  return { ...snapshot, l2EvictedKeys: await evictions }
}

function statsUnavailable(error?: unknown): Response {
  return errorResponse(
    503,
    'stats_unavailable',
    error === undefined
      ? 'The STATS Durable Object binding is missing.'
      : `The Stats Durable Object did not answer: ${String(error)}`
  )
}

/**
 * `/_cache/metrics` (Prometheus text) and `/_cache/stats` (the dashboard's JSON) need the admin or
 * the metrics token. `/_cache/dashboard` and its scripts and styles carry no data and are public:
 * the page asks for the token and sends it as a bearer header on every poll.
 */
export function createObservabilityRoutes(): OpenAPIHono<AppEnv> {
  const routes = new OpenAPIHono<AppEnv>()

  documentRoute(routes, adminApi.metrics)
  routes.get(adminApi.metrics.getRoutingPath(), metricsAuth(), async (c) => {
    let snapshot
    try {
      snapshot = await deploymentStats(c, false)
    } catch (error) {
      return statsUnavailable(error)
    }
    if (!snapshot) return statsUnavailable()
    return c.body(renderExposition(snapshot), 200, {
      'content-type': EXPOSITION_CONTENT_TYPE,
      'cache-control': 'no-store',
    })
  })

  documentRoute(routes, adminApi.stats)
  routes.get(adminApi.stats.getRoutingPath(), metricsAuth(), async (c) => {
    let snapshot
    try {
      snapshot = await deploymentStats(c, true)
    } catch (error) {
      return statsUnavailable(error)
    }
    if (!snapshot) return statsUnavailable()
    const regions = c.get('proxy').config.l2?.regions.map((region) => region.name)
    c.header('cache-control', 'no-store')
    const view: StatsResponse = dashboardView(snapshot, regions, snapshot.l2EvictedKeys)
    return c.json(view)
  })

  documentRoute(routes, adminApi.dashboard)
  routes.get(adminApi.dashboard.getRoutingPath(), (c) =>
    c.body(DASHBOARD_PAGE.body, 200, { ...PAGE_HEADERS, 'content-type': DASHBOARD_PAGE.type })
  )
  documentRoute(routes, adminApi.dashboardAsset)
  routes.get(adminApi.dashboardAsset.getRoutingPath(), (c) => {
    const name = c.req.param('asset')
    const asset = Object.hasOwn(DASHBOARD_ASSETS, name) ? DASHBOARD_ASSETS[name] : undefined
    if (!asset) return errorResponse(404, 'not_found', `No dashboard asset ${c.req.path}.`)
    return c.body(asset.body, 200, { ...PAGE_HEADERS, 'content-type': asset.type })
  })

  return routes
}
