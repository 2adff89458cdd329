import type { CacheEntry, VaryIndex } from '../cache/entry'
import { buildEntry, type OriginExchange } from '../cache/entry-builder'
import type { CacheTier } from '../cache/tier'
import { storeVariant } from '../cache/variant-store'
import type { Config } from '../config/load-config'
import type { FillResult } from '../fill/fill-result'
import { isTimeout } from '../lib/errors'
import type { CompiledRoute } from '../config/route-matcher'
import { variantSelectors } from '../http/authorization'
import { parseCacheControl, responseDirectives } from '../http/cache-control'
import { revalidationHeaders, type Validators } from '../http/conditional'
import { parseFieldNames } from '../http/headers'
import { readBodyWithLimit } from '../http/read-body'
import { checkStorable, type NotStorableReason } from '../http/storability'
import type { OriginBreaker } from './origin-breaker'
import { cacheableOriginHeaders, fetchOrigin, originUrlFor } from './origin-request'

export interface FillInput {
  readonly config: Config
  readonly route: CompiledRoute
  readonly path: string
  readonly query: string
  /** The client's request headers: storability reads them; only allowed ones reach the origin. */
  readonly requestHeaders: Headers
  /** The validators of a stale copy being revalidated (the request becomes conditional). */
  readonly validators?: Validators
  /** The origin's breaker in the calling isolate (the Worker's or the Coalescer object's). */
  readonly breaker: OriginBreaker | null
  /** The caller already asked the breaker (and may hold its half-open trial): do not ask again. */
  readonly admitted?: boolean
  /** The key's estimated requests per minute, on an `adaptiveTtl` route: scales the freshness. */
  readonly perMinute?: number
}

/**
 * One origin fetch for a cacheable request, behind the origin's circuit breaker and deadline; the
 * Worker's direct path and the Coalescer object both use it, so both store the same entries.
 */
export async function fetchForCache(input: FillInput): Promise<FillResult> {
  const { config, route, requestHeaders } = input
  const headers = cacheableOriginHeaders(requestHeaders, route, config)
  const conditional = input.validators !== undefined
  if (input.validators)
    for (const [name, value] of Object.entries(revalidationHeaders(input.validators)))
      headers.set(name, value)

  const { breaker } = input
  if (breaker && !input.admitted && !breaker.allow(Date.now()))
    return { kind: 'failed', reason: 'circuit-open' }
  let result
  try {
    result = await fetchOrigin(
      originUrlFor(config, input.path, input.query),
      { method: 'GET', headers },
      config.origin.timeoutMs
    )
  } catch (error) {
    breaker?.record(Date.now(), input.path + input.query, 'failed')
    return { kind: 'failed', reason: isTimeout(error) ? 'timeout' : 'error' }
  }
  const { response, requestTime, responseTime } = result
  breaker?.record(responseTime, input.path + input.query, breaker.outcomeOf(response.status))

  const cacheControl = responseDirectives(response.headers, config.targetedCacheControl)
  const exchange: OriginExchange = {
    status: response.status,
    headers: response.headers,
    cacheControl,
    requestTime,
    responseTime,
  }
  if (conditional && response.status === 304) {
    await response.body?.cancel()
    return {
      kind: 'not-modified',
      headers: [...response.headers],
      requestTime,
      responseTime,
      perMinute: input.perMinute,
    }
  }

  const storability = checkStorable({
    requestHeaders,
    // Off (the default), the client's directives are ignored: its no-store does not stop storing.
    requestCacheControl: route.requestDirectives
      ? parseCacheControl(requestHeaders.get('cache-control'))
      : NO_DIRECTIVES,
    status: response.status,
    responseHeaders: response.headers,
    cacheControl,
    ttlOverride: route.ttl !== undefined,
    keyHeaders: route.key.headers,
    authorization: route.authorization,
  })
  const negative = negativeRoute(config, route, response.status, storability)
  if (!storability.storable && negative === undefined) {
    return passOn(response, storability.reason, response.body)
  }
  const body = await readBodyWithLimit(response, config.limits.maxBodyBytes)
  if (!body.complete) return passOn(response, 'too-large', body.stream)
  const entry = buildEntry(exchange, body.bytes, negative ?? route, config, input.perMinute)
  const adapted = negative === undefined && route.adaptiveTtl ? input.perMinute : undefined
  return { kind: 'entry', entry, source: 'origin', fwdStatus: response.status, perMinute: adapted }
}

const NO_DIRECTIVES = parseCacheControl(null)

/** An answer for its requester alone, its body still unread (or streaming on from where it stopped). */
function passOn(
  response: Response,
  reason: NotStorableReason | 'too-large',
  body: ReadableStream<Uint8Array> | null
): FillResult {
  return { kind: 'response', reason, status: response.status, headers: [...response.headers], body }
}

/**
 * Negative caching: a configured error status (404, 410...) refused only for lacking a freshness
 * lifetime (every privacy rule passed) is stored for `negativeCache.ttlSeconds`, never served stale.
 */
function negativeRoute(
  config: Config,
  route: CompiledRoute,
  status: number,
  storability: ReturnType<typeof checkStorable>
): CompiledRoute | undefined {
  const { statuses, ttlSeconds } = config.negativeCache
  if (ttlSeconds === 0 || !statuses.includes(status) || storability.storable) return undefined
  if (storability.reason !== 'no-freshness') return undefined
  // Its lifetime is the negative cache's, not scaled by popularity.
  return {
    ...route,
    ttl: ttlSeconds,
    staleWhileRevalidate: 0,
    staleIfError: 0,
    adaptiveTtl: undefined,
  }
}

/**
 * Request headers that select the variant: the origin's Vary plus the route's key headers. Bodies
 * are stored as the origin coded them, so Accept-Encoding selects when Vary names it, and also when
 * the stored body has a content coding: it was negotiated on the Accept-Encoding we forwarded, and an
 * origin that codes without `Vary: Accept-Encoding` (nginx's default) must not have its gzip copy
 * served to a client that did not ask for gzip.
 */
export function varyNames(entry: CacheEntry, route: CompiledRoute): string[] {
  let vary: string | null = null
  let coded = false
  for (const [name, value] of entry.headers) {
    if (name === 'vary') vary = vary === null ? value : `${vary}, ${value}`
    else if (name === 'content-encoding') coded ||= isCoded(value)
  }
  const names = new Set(parseFieldNames(vary))
  if (coded) names.add('accept-encoding')
  for (const name of route.key.headers) names.add(name)
  // RFC 9111 §3.5 routes keep authorised and anonymous answers apart (see variantSelectors).
  if (route.authorization === 'rfc9111') names.add('authorization')
  return [...names].sort()
}

/** A Content-Encoding value naming any coding but identity. */
function isCoded(value: string): boolean {
  return value.split(',').some((coding) => {
    const name = coding.trim().toLowerCase()
    return name !== '' && name !== 'identity'
  })
}

/** Stores a filled entry (and its vary index) in `tier`, as a request with these headers would. */
export function storeFilled(
  tier: CacheTier,
  input: {
    readonly config: Config
    readonly route: CompiledRoute
    readonly primary: string
    readonly requestHeaders: Headers
    readonly entry: CacheEntry
    readonly existingIndex: VaryIndex | undefined
    readonly requestTime: number
  }
): Promise<boolean> {
  const { config } = input
  return storeVariant(tier, {
    primary: input.primary,
    // The variant key holds whether the request was authorised, never its credential.
    request: variantSelectors(input.requestHeaders, input.route.authorization),
    entry: input.entry,
    varyNames: varyNames(input.entry, input.route),
    existingIndex: input.existingIndex,
    requestTime: input.requestTime,
    retainStaleMs: config.retainStaleSeconds * 1000,
    maxKeyLength: config.limits.maxKeyLength,
    maxVariants: config.limits.maxVariantsPerKey,
  })
}
