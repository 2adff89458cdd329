import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from '../app-env'
import { errorResponse } from '../http/error-response'
import { authFailureBudget } from './auth-failures'
import { tokensMatch } from './bearer-auth'

/**
 * Read-only observability endpoints: `Authorization: Bearer` with the admin token or, so a scraper
 * need not hold the token that purges, the separate METRICS_TOKEN secret. Both are compared every
 * time (constant time each), so timing tells neither which one matched nor whether one did. Failures
 * count against the client's `admin.authFailures` budget, shared with the admin token check.
 */
export function metricsAuth(): MiddlewareHandler<AppEnv> {
  return async function metricsAuthMiddleware(c, next) {
    const tokens = [c.var.proxy.config.adminToken, c.env.METRICS_TOKEN || undefined].filter(
      (token): token is string => token !== undefined
    )
    if (tokens.length === 0) {
      return errorResponse(
        503,
        'metrics_disabled',
        'Metrics are disabled: set the METRICS_TOKEN or ADMIN_TOKEN secret.'
      )
    }
    const budget = authFailureBudget(c)
    const refused = await budget.refusal()
    if (refused) return refused
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '')
    let valid = false
    for (const token of tokens) {
      const same = match !== null && tokensMatch(match[1]!, token)
      valid = valid || same
    }
    if (!valid) {
      await budget.recordFailure()
      return errorResponse(401, 'unauthorized', 'A valid bearer token is required.', {
        'www-authenticate': 'Bearer realm="edge-cache"',
      })
    }
    await next()
  }
}
