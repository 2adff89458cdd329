import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from '../app-env'
import { rateLimitHeaders, refusal } from './headers'
import { checkRules, checkRulesNow, type LimiterNamespace } from './limiter-client'
import { originGate } from './origin-gate'
import { matchingRules } from './rules'

/**
 * Step 1 of the request flow: every matching rule that counts requests is checked before route
 * config, cache or origin, so a rejected request costs nothing downstream. Matching miss-rate rules
 * (`counts = "origin"`) become the request's origin gate, asked by the cache handler only when the
 * request goes to the origin. The admin API is not limited here.
 */
export function rateLimit(
  namespace: (env: AppEnv['Bindings']) => LimiterNamespace | undefined
): MiddlewareHandler<AppEnv> {
  return async function rateLimitMiddleware(c, next) {
    const context = c.get('proxy')
    const { config, waitUntil } = context
    const requestPath = c.get('path')
    if (config.rateLimits.length === 0 || requestPath.path.startsWith('/_cache/')) return next()
    const { leases: book, metrics } = context.isolate
    // Unused permits of expired leases go back while a request context is at hand.
    book.sweepIfDue(waitUntil)
    const matched = matchingRules(config.rateLimits, c.req.method, requestPath.ruleSpellings)
    if (matched.length === 0) return next()
    const rules = matched.filter((rule) => rule.counts === 'requests')
    const atOrigin = matched.filter((rule) => rule.counts === 'origin')
    const request = c.req.raw.headers
    const limiters = namespace(c.env)
    const gate =
      atOrigin.length > 0
        ? originGate(atOrigin, request, limiters, book, metrics, waitUntil)
        : undefined
    context.originGate = gate
    // A hot identity's permit is usually held here: decided without a promise in between.
    const outcomes =
      (limiters && checkRulesNow(rules, request, book, waitUntil)) ??
      (await checkRules(rules, request, limiters, book, metrics, waitUntil))
    const refused = refusal(outcomes)
    if (refused) return refused
    await next()
    const headers = rateLimitHeaders([...outcomes, ...(gate?.outcomes ?? [])])
    if (Object.keys(headers).length === 0) return
    const entries = Object.entries(headers)
    try {
      // A response this Worker built (every cache answer) takes the fields as it is.
      for (const [name, value] of entries) c.res.headers.set(name, value)
    } catch {
      // One from fetch() has immutable headers (the first set throws): copy once, then add ours.
      c.res = new Response(c.res.body, c.res)
      for (const [name, value] of entries) c.res.headers.set(name, value)
    }
  }
}
