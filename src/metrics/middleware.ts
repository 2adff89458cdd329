import type { Context, MiddlewareHandler } from 'hono'
import type { AppEnv } from '../app-env'
import { metrics } from './accumulator'
import { classifyResponse, type RequestOutcome } from './request-outcome'
import { batchSender, type StatsNamespace } from './stats-client'

const MAX_LOGGED_PATH = 512

function isAdminPath(path: string): boolean {
  return path === '/_cache' || path.startsWith('/_cache/')
}

/** Counters and the latency histogram for one answered request. */
export function recordRequest(result: RequestOutcome, seconds: number): void {
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
  const url = c.var.url
  const failed = result.outcome === 'error'
  const line = JSON.stringify({
    level: failed ? 'warn' : 'info',
    event: 'request',
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
  // Failures on stderr, like the other warn lines (`wrangler dev --log-level warn` still shows them).
  if (failed) console.error(line)
  else console.log(line)
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
    const { config } = c.var.proxy
    if (!config.metrics.enabled) return next()
    const started = Date.now()
    await next()
    const now = Date.now()
    const path = c.var.url.pathname
    if (!isAdminPath(path)) {
      const result = classifyResponse(
        c.res.status,
        c.res.headers.get('cache-status'),
        config.statusName
      )
      recordRequest(result, (now - started) / 1000)
      const rate = config.logs.sampleRate
      if (result.outcome === 'error' || (rate > 0 && Math.random() < rate)) {
        logRequest(c, result, now - started)
      }
    } else if (path === '/_cache/purge' && c.req.method === 'POST' && c.res.status < 300) {
      metrics.increment('purges_total')
    }
    const stats = namespace(c.env)
    if (stats && metrics.flushDue(now, config.metrics)) {
      c.executionCtx.waitUntil(metrics.flush(batchSender(stats), config.metrics.timeoutMs))
    }
  }
}
