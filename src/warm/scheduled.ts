import type { Env } from '../env'
import { log } from '../lib/log'
import type { WarmOutcome } from '../metrics/catalogue'
import { classifyResponse } from '../metrics/request-outcome'
import { batchSender, readTopPaths } from '../metrics/stats-client'
import { isolateFor, type Isolate } from '../runtime/isolate'
import { requestContext } from '../runtime/request-context'
import { eachBounded } from './pool'
import { warmUrl, type WarmResult } from './warm'

const MAX_LOGGED_PATH = 512

/**
 * What one warmed URL came to, read from our `Cache-Status` member as the request metrics read it:
 * `stored` only when the cache says it stored the answer (RFC 9211 `stored`), so the count is what a
 * miss really kept.
 */
export function warmOutcome(result: WarmResult, cacheName: string): WarmOutcome {
  if (result.status === null) return 'skipped'
  const { outcome, stale } = classifyResponse(result.status, result.cacheStatus, cacheName)
  if (outcome === 'hit' || stale === 'swr') return 'hit'
  if (outcome === 'error' || stale === 'sie' || result.status >= 500) return 'error'
  const ours = result.cacheStatus?.split(',', 1)[0]?.split(';') ?? []
  return ours.some((param) => param.trim() === 'stored') ? 'stored' : 'not_stored'
}

/**
 * `warming.urls`, then the `warming.topKeys` paths most requested lately (from the Stats object),
 * each once. Without the Stats object, or when it does not answer in time, the configured list only.
 */
async function urlsToWarm(env: Env, isolate: Isolate): Promise<string[]> {
  const { config } = isolate
  const { urls, topKeys } = config.warming
  if (topKeys === 0 || !env.STATS) return [...urls]
  let top: string[] = []
  try {
    top = await readTopPaths(env.STATS, isolate.metrics, topKeys, config.metrics.timeoutMs)
  } catch (error) {
    log.warn('warm_top_keys_unavailable', { error })
  }
  // Paths of requests this Worker answered; "//host" would name another host, as in `urls`.
  const paths = top.filter((path) => path.startsWith('/') && !path.startsWith('//'))
  return [...new Set([...urls, ...paths])]
}

/**
 * The Worker's `scheduled` handler: fills `warming.urls` (and the `warming.topKeys` paths most
 * requested lately) through the normal miss path (the same key, storability rules, Coalescer and
 * tiers as a client's GET), `warming.concurrency` at a time, and gives up whatever is left at
 * `warming.deadlineMs`. Per-URL failures are counted, never thrown; the counts reach the Stats
 * object through `waitUntil`, as a request's do. Not behind the rate limiter: that limits clients,
 * and a warmed copy is served to them only after their own rate-limit check.
 */
export async function scheduledWarming(
  controller: ScheduledController,
  env: Env,
  ctx: ExecutionContext
): Promise<void> {
  const isolate = isolateFor(env)
  const { config, metrics } = isolate
  const { baseUrl, cron, concurrency, deadlineMs, topKeys } = config.warming
  if ((config.warming.urls.length === 0 && topKeys === 0) || baseUrl === undefined) return
  if (cron !== undefined && controller.cron !== cron) return
  const urls = await urlsToWarm(env, isolate)
  if (urls.length === 0) return

  const started = Date.now()
  const base = new URL(baseUrl).origin
  const waitUntil = (work: Promise<unknown>) => ctx.waitUntil(work)
  const counts: Partial<Record<WarmOutcome, number>> = {}
  let deadline = false
  try {
    const context = requestContext(isolate, new Request(base), base, waitUntil)
    const signal = AbortSignal.timeout(deadlineMs)
    const outcomes = await eachBounded(
      urls,
      concurrency,
      async (url): Promise<WarmOutcome> => {
        try {
          return warmOutcome(await warmUrl(context, url, base), config.statusName)
        } catch (error) {
          log.warn('warm_failed', {
            path: new URL(url, base).pathname.slice(0, MAX_LOGGED_PATH),
            error,
          })
          return 'error'
        }
      },
      signal
    )
    deadline = signal.aborted
    for (const outcome of outcomes.map((found) => found ?? 'timeout')) {
      counts[outcome] = (counts[outcome] ?? 0) + 1
    }
  } catch (error) {
    // Never out of the handler: a run that fails is logged and counted, the next one tries again.
    log.error('warm_run_failed', { error })
    counts.error = urls.length
  }

  if (config.metrics.enabled) {
    for (const [outcome, n] of Object.entries(counts)) {
      metrics.increment('warm_total', { outcome: outcome as WarmOutcome }, n)
    }
    metrics.increment('warm_runs_total', { result: deadline ? 'deadline' : 'completed' })
    // No request will flush these: send them now, past the handler's return.
    if (env.STATS)
      ctx.waitUntil(metrics.flush(batchSender(env.STATS, metrics), config.metrics.timeoutMs))
  }
  const fields = {
    cron: controller.cron,
    urls: urls.length,
    ms: Date.now() - started,
    deadline,
    ...counts,
  }
  log[deadline || counts.error ? 'warn' : 'info']('scheduled_warming', fields)
}
