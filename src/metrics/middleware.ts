import type { Context, MiddlewareHandler } from 'hono'
import type { AppEnv } from '../app-env'
import { log } from '../lib/log'
import type { MetricsAccumulator } from './accumulator'
import { classifyResponse, type RequestOutcome } from './request-outcome'
import { batchSender, type StatsNamespace } from './stats-client'

const MAX_LOGGED_PATH = 512
/** Outcomes of a GET that looked a cached route up: what "most requested" counts for warming. */
const LOOKUPS: ReadonlySet<string> = new Set(['hit', 'stale', 'miss', 'revalidated'])

function isAdminPath(path: string): boolean {
  return path === '/_cache' || path.startsWith('/_cache/')
}

/** Counters and the latency histogram for one answered request. */
export function recordRequest(
  metrics: MetricsAccumulator,
  result: RequestOutcome,
  seconds: number
): void {
  metrics.countRequest()
  metrics.increment('requests_total', { outcome: result.outcome, tier: result.tier })
  metrics.observe('request_duration_seconds', seconds, { tier: result.tier })
  if (result.stale) metrics.increment('stale_served_total', { reason: result.stale })
  if (result.originFetch) metrics.increment('origin_fetches_total', { reason: result.originFetch })
  if (result.collapsed) metrics.increment('coalesced_followers_total')
  if (result.outcome === 'rate_limited') metrics.increment('rate_limited_total')
  if (result.region !== undefined && (result.outcome === 'hit' || result.outcome === 'stale')) {
    metrics.increment('l2_region_requests_total', {
      region: result.region,
      outcome: result.outcome,
    })
  }
}

function logRequest(c: Context<AppEnv>, result: RequestOutcome, ms: number): void {
  const url = c.get('url')
  // Failures as warnings: on stderr, like the other warn lines.
  log[result.outcome === 'error' ? 'warn' : 'info']('request', {
    method: c.req.method,
    // The path only: query strings often carry credentials (api_key=...) that logs must not keep.
    path: url.pathname.slice(0, MAX_LOGGED_PATH),
    status: c.res.status,
    outcome: result.outcome,
    tier: result.tier,
    ...(result.region === undefined ? {} : { region: result.region }),
    ms,
    cacheStatus: c.res.headers.get('cache-status')?.split(',', 1)[0] ?? null,
    colo: (c.req.raw.cf as { colo?: string } | undefined)?.colo,
  })
}

/**
 * Records every request once, from the final response: outcome and tier from our `Cache-Status`
 * member (or 429 from the rate limiter), latency to the response headers, and a sampled JSON log
 * line (errors always). The cache code is not touched. Deltas go to the Stats Durable Object in
 * batches, through `waitUntil`, once the last flush is `flushIntervalMs` old or after
 * `flushRequests` requests; the admin API (dashboard polls included) is not counted as traffic.
 */
export function requestMetrics(
  namespace: (env: AppEnv['Bindings']) => StatsNamespace | undefined
): MiddlewareHandler<AppEnv> {
  return async function requestMetricsMiddleware(c, next) {
    const { config, isolate } = c.get('proxy')
    const { metrics } = isolate
    if (!config.metrics.enabled) return next()
    const started = Date.now()
    await next()
    const now = Date.now()
    const path = c.get('url').pathname
    if (!isAdminPath(path)) {
      const result = classifyResponse(
        c.res.status,
        c.res.headers.get('cache-status'),
        config.statusName
      )
      recordRequest(metrics, result, (now - started) / 1000)
      if (config.warming.topKeys > 0 && c.req.method === 'GET' && LOOKUPS.has(result.outcome)) {
        metrics.countPath(path + c.get('url').search)
      }
      if (result.outcome === 'error' || log.sampled(config.logs.sampleRate)) {
        logRequest(c, result, now - started)
      }
    } else if (path === '/_cache/purge' && c.req.method === 'POST' && c.res.status < 300) {
      metrics.increment('purges_total')
    }
    const stats = namespace(c.env)
    if (stats && metrics.flushDue(now, config.metrics)) {
      c.executionCtx.waitUntil(metrics.flush(batchSender(stats, metrics), config.metrics.timeoutMs))
    }
  }
}
