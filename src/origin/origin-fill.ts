import type { CacheEntry, VaryIndex } from '../cache/entry'
import { buildEntry, type OriginExchange } from '../cache/entry-builder'
import type { CacheTier } from '../cache/tier'
import { storeVariant } from '../cache/variant-store'
import type { Config } from '../config/load-config'
import type { CompiledRoute } from '../config/route-matcher'
import { parseCacheControl, responseDirectives } from '../http/cache-control'
import { revalidationHeaders, type Validators } from '../http/conditional'
import { parseFieldNames } from '../http/headers'
import { readBodyWithLimit } from '../http/read-body'
import { checkStorable, type NotStorableReason } from '../http/storability'
import { originBreaker, OriginCircuitOpen } from './origin-breaker'
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
  /** The caller already asked the breaker (and may hold its half-open trial): do not ask again. */
  readonly admitted?: boolean
}

/**
 * What one origin fetch for the cache gave: a storable entry, a 304 for the stale copy, a response
 * that must not be stored (passed on, body still unread or streaming) or a failure (thrown: deadline,
 * unreachable, or refused by the open breaker).
 */
export type FillOutcome =
  | { readonly kind: 'stored'; readonly entry: CacheEntry; readonly exchange: OriginExchange }
  | {
      readonly kind: 'not-modified'
      readonly response: Response
      readonly exchange: OriginExchange
    }
  | {
      readonly kind: 'forward'
      readonly response: Response
      readonly exchange: OriginExchange
      readonly reason: NotStorableReason | 'too-large'
      readonly body: ReadableStream<Uint8Array> | null
    }
  | { readonly kind: 'failed'; readonly error: unknown }

/**
 * One origin fetch for a cacheable request, behind the origin's circuit breaker and deadline; the
 * Worker's direct path and the Coalescer object both use it, so both store the same entries.
 */
export async function fetchForCache(input: FillInput): Promise<FillOutcome> {
  const { config, route, requestHeaders } = input
  const headers = cacheableOriginHeaders(requestHeaders, route, config)
  const conditional = input.validators !== undefined
  if (input.validators)
    for (const [name, value] of Object.entries(revalidationHeaders(input.validators)))
      headers.set(name, value)

  const breaker = originBreaker(config)
  if (breaker && !input.admitted && !breaker.allow(Date.now()))
    return { kind: 'failed', error: new OriginCircuitOpen() }
  let result
  try {
    result = await fetchOrigin(
      originUrlFor(config, input.path, input.query),
      { method: 'GET', headers },
      config.origin.timeoutMs
    )
  } catch (error) {
    breaker?.record(Date.now(), input.path + input.query, 'failed')
    return { kind: 'failed', error }
  }
  const { response, requestTime, responseTime } = result
  breaker?.record(responseTime, input.path + input.query, breaker.outcomeOf(response.status))

  const cacheControl = responseDirectives(response.headers)
  const exchange: OriginExchange = {
    status: response.status,
    headers: response.headers,
    cacheControl,
    requestTime,
    responseTime,
  }
  if (conditional && response.status === 304) return { kind: 'not-modified', response, exchange }

  const storability = checkStorable({
    requestHeaders,
    requestCacheControl: parseCacheControl(requestHeaders.get('cache-control')),
    status: response.status,
    responseHeaders: response.headers,
    cacheControl,
    ttlOverride: route.ttl !== undefined,
    keyHeaders: route.key.headers,
  })
  const negative = negativeRoute(config, route, response.status, storability)
  if (!storability.storable && negative === undefined) {
    const reason = storability.reason
    return { kind: 'forward', response, exchange, reason, body: response.body }
  }
  const body = await readBodyWithLimit(response, config.limits.maxBodyBytes)
  if (!body.complete)
    return { kind: 'forward', response, exchange, reason: 'too-large', body: body.stream }
  const entry = buildEntry(exchange, body.bytes, negative ?? route, config)
  return { kind: 'stored', entry, exchange }
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
  return { ...route, ttl: ttlSeconds, staleWhileRevalidate: 0, staleIfError: 0 }
}

/** Request headers that select the variant: the origin's Vary plus the route's key headers. */
export function varyNames(entry: CacheEntry, route: CompiledRoute): string[] {
  const vary = entry.headers.find(([name]) => name === 'vary')?.[1] ?? null
  // Bodies are stored decoded and re-encoded per client by the runtime, so Accept-Encoding never selects.
  const names = new Set(parseFieldNames(vary).filter((name) => name !== 'accept-encoding'))
  for (const name of route.key.headers) names.add(name)
  return [...names].sort()
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
    request: input.requestHeaders,
    entry: input.entry,
    varyNames: varyNames(input.entry, input.route),
    existingIndex: input.existingIndex,
    requestTime: input.requestTime,
    retainStaleMs: config.retainStaleSeconds * 1000,
    maxKeyLength: config.limits.maxKeyLength,
    maxVariants: config.limits.maxVariantsPerKey,
  })
}
