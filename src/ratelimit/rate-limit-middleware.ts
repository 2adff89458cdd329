import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from '../app-env'
import { log } from '../lib/log'
import { rateLimitHeaders, limiterUnavailable, tooManyRequests } from './headers'
import type { Config } from '../config/load-config'
import { LeaseBook } from './lease-book'
import { checkRules, type LimiterNamespace } from './limiter-client'
import { matchingRules } from './rules'

/**
 * Step 1 of the request flow: every matching rule is checked before route config, cache or origin,
 * so a rejected request costs nothing downstream. The admin API is not limited here.
 */
export function rateLimit(
  namespace: (env: AppEnv['Bindings']) => LimiterNamespace | undefined
): MiddlewareHandler<AppEnv> {
  // The isolate's permit leases, one book per config (an isolate has one; tests make one per test).
  const books = new WeakMap<Config, LeaseBook>()

  return async function rateLimitMiddleware(c, next) {
    const { config, waitUntil } = c.var.proxy
    const requestPath = c.var.path
    if (config.rateLimits.length === 0 || requestPath.path.startsWith('/_cache/')) return next()
    let book = books.get(config)
    if (book === undefined) books.set(config, (book = new LeaseBook()))
    // Unused permits of expired leases go back while a request context is at hand.
    book.sweepIfDue(waitUntil)
    const rules = matchingRules(config.rateLimits, c.req.method, requestPath.ruleSpellings)
    if (rules.length === 0) return next()
    const outcomes = await checkRules(rules, c.req.raw.headers, namespace(c.env), book)
    for (const outcome of outcomes) {
      if ('unavailable' in outcome) {
        log.warn('rate_limiter_unavailable', {
          rule: outcome.rule.name,
          failMode: outcome.rule.failMode,
          error: outcome.unavailable,
        })
        if (outcome.rule.failMode === 'closed') return limiterUnavailable(outcome.rule.name)
      } else if (!outcome.decision.allowed) {
        return tooManyRequests(outcome, outcomes)
      }
    }
    await next()
    const headers = rateLimitHeaders(outcomes)
    if (Object.keys(headers).length === 0) return
    // Responses built from fetch() have immutable headers: copy once, then add ours.
    c.res = new Response(c.res.body, c.res)
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value)
  }
}
