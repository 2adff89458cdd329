import type { MiddlewareHandler } from 'hono'
import { errorResponse } from '../http/error-response'

const encoder = new TextEncoder()

/** Constant-time comparison: the time taken does not reveal how much of the token matched. */
export function tokensMatch(given: string, expected: string): boolean {
  const a = encoder.encode(given)
  const b = encoder.encode(expected)
  // Compare equal-length buffers either way so a length mismatch costs the same as a content mismatch.
  const same = a.byteLength === b.byteLength
  return crypto.subtle.timingSafeEqual(same ? a : b, b) && same
}

/** Requires `Authorization: Bearer <token>`; 401 (with WWW-Authenticate) otherwise. */
export function bearerAuth(getToken: () => string | undefined): MiddlewareHandler {
  return async function bearerAuthMiddleware(c, next) {
    const expected = getToken()
    if (!expected) {
      return errorResponse(
        503,
        'admin_disabled',
        'The admin API is disabled: set the ADMIN_TOKEN secret.'
      )
    }
    const header = c.req.header('authorization') ?? ''
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header)
    if (!match || !tokensMatch(match[1]!, expected)) {
      return errorResponse(401, 'unauthorized', 'A valid bearer token is required.', {
        'www-authenticate': 'Bearer realm="edge-cache"',
      })
    }
    await next()
  }
}
