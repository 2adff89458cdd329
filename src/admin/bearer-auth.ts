import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from '../app-env'
import { errorResponse } from '../http/error-response'
import { authFailureBudget } from './auth-failures'

const encoder = new TextEncoder()

/** Constant-time comparison: the time taken does not reveal how much of the token matched. */
export function tokensMatch(given: string, expected: string): boolean {
  const a = encoder.encode(given)
  const b = encoder.encode(expected)
  // Compare equal-length buffers either way so a length mismatch costs the same as a content mismatch.
  const same = a.byteLength === b.byteLength
  return crypto.subtle.timingSafeEqual(same ? a : b, b) && same
}

/**
 * Requires `Authorization: Bearer <token>`; 401 (with WWW-Authenticate) otherwise. A client out of
 * its `admin.authFailures` budget gets 429 before any token is looked at.
 */
export function bearerAuth(getToken: () => string | undefined): MiddlewareHandler<AppEnv> {
  return async function bearerAuthMiddleware(c, next) {
    const expected = getToken()
    if (!expected) {
      return errorResponse(
        503,
        'admin_disabled',
        'The admin API is disabled: set the ADMIN_TOKEN secret.'
      )
    }
    const budget = authFailureBudget(c)
    const refused = await budget.refusal()
    if (refused) return refused
    const header = c.req.header('authorization') ?? ''
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header)
    if (!match || !tokensMatch(match[1]!, expected)) {
      await budget.recordFailure()
      return errorResponse(401, 'unauthorized', 'A valid bearer token is required.', {
        'www-authenticate': 'Bearer realm="edge-cache"',
      })
    }
    await next()
  }
}
