import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from '../app-env'
import { bearerAuth } from './bearer-auth'

/**
 * Read-only observability endpoints: the admin token or, so a scraper need not hold the token that
 * purges, the separate METRICS_TOKEN secret. Failures count against the client's
 * `admin.authFailures` budget, shared with the admin token check.
 */
export function metricsAuth(): MiddlewareHandler<AppEnv> {
  return bearerAuth({
    tokens: (c) => [c.get('proxy').config.adminToken, c.env.METRICS_TOKEN],
    disabled: {
      code: 'metrics_disabled',
      message: 'Metrics are disabled: set the METRICS_TOKEN or ADMIN_TOKEN secret.',
    },
  })
}
