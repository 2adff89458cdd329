import { shareableAcrossCredentials, type AuthorizationPolicy } from './authorization'
import { parseCacheControl, type CacheControl } from './cache-control'
import { isHeuristicallyCacheable } from './freshness'

export type NotStorableReason =
  | 'status'
  | 'malformed-directives'
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
  /** The route's `authorization` policy (default `bypass`: answers to authorised requests are never stored). */
  readonly authorization?: AuthorizationPolicy
}

/**
 * RFC 9111 §3: any final status may be stored when the response carries explicit freshness; a 206
 * (ranges are not assembled here) and a 304 (it validates a copy, it is not one) are not.
 */
/** Statuses a route `ttl` stores without the origin's own lifetime: the successful and redirect ones. */
const ROUTE_TTL_STATUSES = new Set([200, 203, 204, 300, 301, 302, 303, 307, 308])

function isFinalStorableStatus(status: number): boolean {
  return status >= 200 && status <= 599 && status !== 206 && status !== 304
}

const NOT_STORED: Record<NotStorableReason, Storability> = Object.fromEntries(
  (
    [
      'status',
      'malformed-directives',
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
  // Expires counts only when Cache-Control rules: a targeted field replaces both (RFC 9213 §2.2).
  return (
    cc.sMaxAge !== undefined ||
    cc.maxAge !== undefined ||
    (cc.targeted === undefined && headers.has('expires'))
  )
}

/**
 * RFC 9111 §3 storability for a *shared* cache, stricter where sharing could leak one client's data to
 * another: `private`, `Set-Cookie` and `Authorization` (unless the route keys on it) are never stored.
 * The request is a GET (HEAD is served from the GET entry; other methods never reach this).
 */
export function checkStorable(input: StorabilityInput): Storability {
  const { status, cacheControl: cc, responseHeaders } = input
  if (!isFinalStorableStatus(status)) return NOT_STORED.status
  if (cc.noStore || input.requestCacheControl.noStore) return NOT_STORED['no-store']
  if (cc.private) return NOT_STORED.private
  // A directive we could not read cleanly: its strictest reading is already in the flags above, and
  // whatever lifetime it meant cannot be trusted: the strictest reading wins.
  if (cc.malformed) return NOT_STORED['malformed-directives']
  // RFC 9111 §3.5 allows `public`/`s-maxage`/`must-revalidate` answers to authorised requests; by
  // default sharing them across identities is the leak we refuse unless the route keys on the
  // identity. An `rfc9111` route stores them (in the authorised partition) under §3.5's terms.
  if (input.requestHeaders.has('authorization') && !input.keyHeaders.includes('authorization')) {
    if (input.authorization !== 'rfc9111' || !shareableAcrossCredentials(cc, responseHeaders))
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
  if (input.ttlOverride && ROUTE_TTL_STATUSES.has(status)) return STORABLE
  return maybeExplicit(cc, responseHeaders, status)
}

function maybeExplicit(cc: CacheControl, headers: Headers, status: number): Storability {
  if (hasExplicitFreshness(cc, headers)) return STORABLE
  if ((cc.public || isHeuristicallyCacheable(status)) && headers.has('last-modified'))
    return STORABLE
  return NOT_STORED['no-freshness']
}

const NO_REQUEST = new Headers()
const NO_DIRECTIVES = parseCacheControl(null)
const RESPONSE_REFUSALS: ReadonlySet<NotStorableReason> = new Set([
  'no-store',
  'private',
  'malformed-directives',
  'set-cookie',
  'vary-star',
])

/**
 * Whether a response refuses to be kept in a shared cache at all, whatever the request was: the
 * check for an update of a stored copy (a 304, a refresh), after which the copy must go.
 */
export function responseRefusesSharing(
  status: number,
  responseHeaders: Headers,
  cacheControl: CacheControl
): boolean {
  const verdict = checkStorable({
    requestHeaders: NO_REQUEST,
    requestCacheControl: NO_DIRECTIVES,
    status,
    responseHeaders,
    cacheControl,
    ttlOverride: true,
    keyHeaders: [],
  })
  return !verdict.storable && RESPONSE_REFUSALS.has(verdict.reason)
}
