import type { Config } from '../config/load-config'
import type { CompiledRoute } from '../config/route-matcher'
import { responseDirectives, type CacheControl } from '../http/cache-control'
import { mergeNotModified } from '../http/conditional'
import { correctedInitialAge, freshnessLifetime } from '../http/freshness'
import { hopByHopFields } from '../http/headers'
import { adaptLifetime, mayLengthen } from '../popularity/adaptive-ttl'
import type { CacheEntry } from './entry'

/**
 * Fields left out of a stored copy on purpose (RFC 9111 §3.1 otherwise keeps every end-to-end field;
 * hop-by-hop ones and those named by no-cache="…"/private="…" go too). The body is stored as the
 * origin's bytes, so Content-Encoding is kept with it.
 */
const NOT_STORED_FIELDS = [
  // Recomputed on every answer from the stored copy's age (RFC 9111 §4.2.3).
  'age',
  // A cookie is one client's: a shared copy never hands it to others.
  'set-cookie',
  'set-cookie2',
  // Recomputed from the stored body on every answer (respond.ts), so it can never disagree with it.
  'content-length',
  // Tags are ours: they are stored as entry metadata, not sent to clients.
  'surrogate-key',
  'cache-tag',
  'surrogate-control',
]

const MAX_TAG_LENGTH = 256

/** Tags from Surrogate-Key / Cache-Tag (space or comma separated) plus the route's, at most `maxTags`. */
export function entryTags(headers: Headers, route: CompiledRoute, maxTags: number): string[] {
  const tags = new Set(route.tags)
  for (const name of ['surrogate-key', 'cache-tag']) {
    const value = headers.get(name)
    if (!value) continue
    for (const tag of value.split(/[\s,]+/)) {
      if (tag && tag.length <= MAX_TAG_LENGTH) tags.add(tag)
    }
  }
  return [...tags].slice(0, maxTags)
}

export function storedHeaders(headers: Headers, cc: CacheControl): Array<[string, string]> {
  const drop = new Set([
    ...hopByHopFields(headers),
    ...NOT_STORED_FIELDS,
    ...cc.privateFields,
    ...cc.noCacheFields,
  ])
  const out: Array<[string, string]> = []
  for (const [name, value] of headers) if (!drop.has(name)) out.push([name, value])
  return out
}

export interface OriginExchange {
  readonly status: number
  readonly headers: Headers
  readonly cacheControl: CacheControl
  readonly requestTime: number
  readonly responseTime: number
}

interface Timing {
  readonly initialAgeSec: number
  readonly freshUntil: number
  readonly staleWhileRevalidateUntil: number
  readonly staleIfErrorUntil: number
  readonly mustRevalidate: boolean
}

/**
 * Freshness of a new or revalidated copy. A route `ttl` replaces the origin's lifetime (counted from
 * now); otherwise RFC 9111 §4.2 applies and the route's stale windows only fill in for missing RFC 5861
 * directives. must-revalidate, proxy-revalidate and no-cache rule out serving stale. On an
 * `adaptiveTtl` route, a known `perMinute` (the key's request rate) scales that lifetime, the route's
 * `ttl` included (popularity/adaptive-ttl.ts).
 */
export function entryTiming(
  exchange: OriginExchange,
  route: CompiledRoute,
  config: Config,
  options: {
    /** Uniform in [0, 1): how much of `freshnessJitter` this copy gets. */
    readonly draw?: () => number
    /** The key's estimated requests per minute, where the fill was made; undefined: not adapted. */
    readonly perMinute?: number
  } = {}
): Timing {
  const { status, headers, cacheControl: cc, requestTime, responseTime } = exchange
  const { draw = Math.random, perMinute } = options
  const override = route.ttl !== undefined
  const base = override
    ? route.ttl!
    : cc.noCache
      ? 0
      : freshnessLifetime(status, headers, cc, config.heuristic, responseTime).seconds
  const adaptive = route.adaptiveTtl
  const lifetime =
    adaptive && perMinute !== undefined
      ? adaptLifetime(base, perMinute, adaptive, mayLengthen(cc))
      : base
  const initialAgeSec = override ? 0 : correctedInitialAge(headers, requestTime, responseTime)
  const mustRevalidate = !override && (cc.mustRevalidate || cc.proxyRevalidate || cc.noCache)
  const freshMs = Math.max(0, lifetime - initialAgeSec) * 1000
  // Shortened, never lengthened (a cache may always treat a copy as stale sooner, RFC 9111 §4.2):
  // copies filled together, e.g. by one warm-up, go stale apart in memory, L1 and L2 alike.
  const jitter = route.freshnessJitter ?? 0
  const freshUntil = responseTime + Math.round(freshMs * (1 - (jitter > 0 ? jitter * draw() : 0)))
  // The route's stale windows fill in for the origin's only where the origin left room: not under
  // s-maxage (it carries proxy-revalidate for a shared cache, RFC 9111 §5.2.2.10) and not for errors.
  const routeDefaults = override || (cc.sMaxAge === undefined && status < 400)
  const swr = mustRevalidate
    ? 0
    : override
      ? route.staleWhileRevalidate
      : (cc.staleWhileRevalidate ?? (routeDefaults ? route.staleWhileRevalidate : 0))
  const sie = mustRevalidate
    ? 0
    : override
      ? route.staleIfError
      : (cc.staleIfError ?? (routeDefaults ? route.staleIfError : 0))
  return {
    initialAgeSec,
    freshUntil,
    staleWhileRevalidateUntil: freshUntil + swr * 1000,
    staleIfErrorUntil: freshUntil + sie * 1000,
    mustRevalidate,
  }
}

export function buildEntry(
  exchange: OriginExchange,
  body: Uint8Array,
  route: CompiledRoute,
  config: Config,
  /** The key's requests per minute, for an `adaptiveTtl` route (see entryTiming). */
  perMinute?: number
): CacheEntry {
  const { status, headers, cacheControl: cc, requestTime, responseTime } = exchange
  return {
    kind: 'response',
    status,
    headers: storedHeaders(headers, cc),
    body,
    storedAt: responseTime,
    ...entryTiming(exchange, route, config, { perMinute }),
    etag: headers.get('etag') ?? undefined,
    lastModified: headers.get('last-modified') ?? undefined,
    tags: entryTags(headers, route, config.limits.maxTagsPerEntry),
    fetchMs: Math.max(0, responseTime - requestTime),
  }
}

/** RFC 9111 §4.3.4: a copy validated by a 304 takes the 304's headers and a new freshness lifetime. */
export function refreshEntry(
  stored: CacheEntry,
  exchange: OriginExchange,
  route: CompiledRoute,
  config: Config,
  perMinute?: number
): CacheEntry {
  const { headers: notModified, cacheControl: cc, requestTime, responseTime } = exchange
  const merged = mergeNotModified(stored.headers, new Headers(storedHeaders(notModified, cc)))
  const headers = new Headers(merged)
  // A 304 without Cache-Control keeps the stored directives: freshness comes from the merged headers.
  const mergedCc = responseDirectives(headers, config.targetedCacheControl)
  return {
    ...stored,
    headers: merged,
    storedAt: responseTime,
    ...entryTiming(
      { status: stored.status, headers, cacheControl: mergedCc, requestTime, responseTime },
      route,
      config,
      { perMinute }
    ),
    etag: headers.get('etag') ?? undefined,
    lastModified: headers.get('last-modified') ?? undefined,
    fetchMs: Math.max(0, responseTime - requestTime),
  }
}
