import type { CacheControl } from './cache-control'
import { isHeuristicallyCacheable } from './freshness'

export type NotStorableReason =
  | 'status'
  | 'no-store'
  | 'private'
  | 'authorization'
  | 'set-cookie'
  | 'vary-star'
  | 'no-freshness'
  | 'no-cache-without-validator'

export type Storability =
  { readonly storable: true } | { readonly storable: false; readonly reason: NotStorableReason }

export interface StorabilityInput {
  readonly requestHeaders: Headers
  readonly requestCacheControl: CacheControl
  readonly status: number
  readonly responseHeaders: Headers
  readonly cacheControl: CacheControl
  /** The route replaces the origin's freshness lifetime. */
  readonly ttlOverride: boolean
  /** Request header names the route keys on (a keyed Authorization/Cookie makes per-identity entries safe). */
  readonly keyHeaders: readonly string[]
}

/** Statuses we can store when the response carries explicit freshness (RFC 9111 §3: "final and understood"). */
const EXPLICITLY_CACHEABLE = new Set([
  200, 203, 204, 300, 301, 302, 303, 307, 308, 404, 405, 410, 414, 421, 451, 501,
])

const NOT_STORED: Record<NotStorableReason, Storability> = Object.fromEntries(
  (
    [
      'status',
      'no-store',
      'private',
      'authorization',
      'set-cookie',
      'vary-star',
      'no-freshness',
      'no-cache-without-validator',
    ] as const
  ).map((reason) => [reason, { storable: false, reason }])
) as Record<NotStorableReason, Storability>

const STORABLE: Storability = { storable: true }

function hasExplicitFreshness(cc: CacheControl, headers: Headers): boolean {
  return cc.sMaxAge !== undefined || cc.maxAge !== undefined || headers.has('expires')
}

/**
 * RFC 9111 §3 storability for a *shared* cache, stricter where sharing could leak one client's data to
 * another: `private`, `Set-Cookie` and `Authorization` (unless the route keys on it) are never stored.
 * The request is a GET (HEAD is served from the GET entry; other methods never reach this).
 */
export function checkStorable(input: StorabilityInput): Storability {
  const { status, cacheControl: cc, responseHeaders } = input
  if (!EXPLICITLY_CACHEABLE.has(status) && !isHeuristicallyCacheable(status))
    return NOT_STORED.status
  if (status === 206) return NOT_STORED.status // ranges are not assembled here
  if (cc.noStore || input.requestCacheControl.noStore) return NOT_STORED['no-store']
  if (cc.private) return NOT_STORED.private
  // RFC 9111 §3.5 would allow `public`/`s-maxage` answers to authorised requests; sharing them across
  // identities is exactly the leak we refuse unless the route puts the identity in the key.
  if (input.requestHeaders.has('authorization') && !input.keyHeaders.includes('authorization')) {
    return NOT_STORED.authorization
  }
  if (responseHeaders.has('set-cookie')) return NOT_STORED['set-cookie']
  if (
    responseHeaders
      .get('vary')
      ?.split(',')
      .some((field) => field.trim() === '*')
  ) {
    return NOT_STORED['vary-star']
  }
  if (cc.noCache) {
    return responseHeaders.has('etag') || responseHeaders.has('last-modified')
      ? STORABLE
      : NOT_STORED['no-cache-without-validator']
  }
  if (input.ttlOverride) return status < 400 ? STORABLE : maybeExplicit(cc, responseHeaders, status)
  return maybeExplicit(cc, responseHeaders, status)
}

function maybeExplicit(cc: CacheControl, headers: Headers, status: number): Storability {
  if (hasExplicitFreshness(cc, headers)) return STORABLE
  if ((cc.public || isHeuristicallyCacheable(status)) && headers.has('last-modified'))
    return STORABLE
  return NOT_STORED['no-freshness']
}
