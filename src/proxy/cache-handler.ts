import { exceedsKeyLimit, normalizePath, normalizeQuery } from '../cache/cache-key'
import type { CacheEntry } from '../cache/entry'
import { buildEntry, refreshEntry, type OriginExchange } from '../cache/entry-builder'
import { lookupVariant, storeVariant, type Found } from '../cache/variant-store'
import type { CompiledRoute } from '../config/route-matcher'
import { parseCacheControl } from '../http/cache-control'
import type { CacheStatus } from '../http/cache-status'
import { isNotModified, revalidationHeaders } from '../http/conditional'
import { parseFieldNames } from '../http/headers'
import { checkStorable } from '../http/storability'
import { metrics } from '../metrics/accumulator'
import { cacheableOriginHeaders, fetchOrigin, originUrlFor } from '../origin/origin-request'
import { readBodyWithLimit } from '../http/read-body'
import type { ProxyContext } from './context'
import { originFailure } from './origin-failure'
import { passThrough } from './pass-through'
import { remainingTtl, responseFromEntry, forwardResponse } from './respond'

/** One cacheable GET/HEAD on its way through the tiers. */
interface CacheRequest {
  readonly request: Request
  readonly route: CompiledRoute
  readonly path: string
  readonly query: string
  readonly primary: string
}

/** Background refreshes in flight in this isolate, so a hot stale key is refreshed once, not per hit. */
const refreshing = new Map<string, Promise<void>>()
const MAX_REFRESHING = 1024

/**
 * GET/HEAD on a cached route: L1 → (fresh: hit | stale-while-revalidate: hit + background refresh |
 * otherwise: revalidate with the origin, stale-if-error on failure) → miss: fetch, store, serve.
 * HEAD is answered from the GET entry; a HEAD miss fetches the GET so it can be stored.
 */
export async function handleCacheable(
  request: Request,
  url: URL,
  route: CompiledRoute,
  ctx: ProxyContext
): Promise<Response> {
  const { config } = ctx
  // Sharing answers to authorised requests leaks them across identities unless the key holds the identity.
  if (request.headers.has('authorization') && !route.key.headers.includes('authorization')) {
    return passThrough(request, url, ctx, 'bypass', 'authorization')
  }
  const path = normalizePath(url.pathname)
  const query = normalizeQuery(url.searchParams, route.key)
  const primary = path + query
  if (exceedsKeyLimit(primary, config.limits.maxKeyLength)) {
    return passThrough(request, url, ctx, 'bypass', 'key-too-long')
  }
  const req: CacheRequest = { request, route, path, query, primary }
  const found = await lookupVariant(ctx.tiers, primary, request.headers, config.limits.maxKeyLength)
  const entry = found.entry
  if (entry === undefined) return fetchAndStore(req, found, undefined, ctx)

  const now = Date.now()
  if (now < entry.freshUntil) {
    return serve(
      req,
      entry,
      { hit: true, ttl: remainingTtl(entry, now), detail: found.tier },
      now,
      ctx
    )
  }
  if (!entry.mustRevalidate && now < entry.staleWhileRevalidateUntil) {
    refreshInBackground(req, found, ctx)
    const status: CacheStatus = {
      hit: true,
      ttl: remainingTtl(entry, now),
      detail: `${found.tier} stale-while-revalidate`,
    }
    return serve(req, entry, status, now, ctx)
  }
  return fetchAndStore(req, found, entry, ctx)
}

function serve(
  req: CacheRequest,
  entry: CacheEntry,
  status: CacheStatus,
  now: number,
  ctx: ProxyContext
) {
  return responseFromEntry(entry, {
    cacheName: ctx.config.statusName,
    method: req.request.method,
    status,
    now,
    notModified: isNotModified(req.request.headers, entry),
  })
}

function refreshInBackground(req: CacheRequest, found: Found, ctx: ProxyContext): void {
  // One refresh per variant: variants of a URL go stale and refresh independently.
  const key = found.key ?? req.primary
  if (refreshing.has(key) || refreshing.size >= MAX_REFRESHING) return
  // No Cache-Status reports a background refresh: count its origin fetch here.
  metrics.increment('origin_fetches_total', { reason: 'refresh' })
  const work = fetchAndStore(req, found, found.entry, ctx)
    .then((response) => response.body?.cancel())
    .catch(() => {})
    .finally(() => refreshing.delete(key))
  refreshing.set(key, work)
  ctx.waitUntil(work)
}

function canServeStaleOnError(entry: CacheEntry, now: number): boolean {
  return !entry.mustRevalidate && now < entry.staleIfErrorUntil
}

/**
 * Goes to the origin for a missing key, or to revalidate a stale copy (conditionally, with its
 * validators). A 304 refreshes the copy without a body; an error falls back to stale-if-error.
 */
async function fetchAndStore(
  req: CacheRequest,
  found: Found,
  stale: CacheEntry | undefined,
  ctx: ProxyContext
): Promise<Response> {
  const { config } = ctx
  const { request, route } = req
  const fwd = stale ? 'stale' : found.index ? 'vary-miss' : 'miss'
  const headers = cacheableOriginHeaders(request.headers, route, config)
  if (stale)
    for (const [name, value] of Object.entries(revalidationHeaders(stale))) headers.set(name, value)

  let result
  try {
    result = await fetchOrigin(
      originUrlFor(config, req.path, req.query),
      { method: 'GET', headers },
      config.origin.timeoutMs
    )
  } catch (error) {
    const now = Date.now()
    if (stale && canServeStaleOnError(stale, now)) {
      return serve(
        req,
        stale,
        { fwd: 'stale', ttl: remainingTtl(stale, now), detail: 'stale-if-error' },
        now,
        ctx
      )
    }
    return originFailure(error, config.statusName, fwd)
  }

  const { response, requestTime, responseTime } = result
  const cacheControl = parseCacheControl(response.headers.get('cache-control'))
  const exchange: OriginExchange = {
    status: response.status,
    headers: response.headers,
    cacheControl,
    requestTime,
    responseTime,
  }
  if (stale && response.status === 304) {
    const refreshed = refreshEntry(stale, exchange, route, config)
    ctx.waitUntil(store(req, found, refreshed, requestTime, ctx))
    const status: CacheStatus = {
      fwd,
      fwdStatus: 304,
      stored: true,
      ttl: remainingTtl(refreshed, responseTime),
    }
    return serve(req, refreshed, status, responseTime, ctx)
  }
  if (stale && response.status >= 500 && canServeStaleOnError(stale, responseTime)) {
    await response.body?.cancel()
    const status: CacheStatus = {
      fwd,
      fwdStatus: response.status,
      ttl: remainingTtl(stale, responseTime),
      detail: 'stale-if-error',
    }
    return serve(req, stale, status, responseTime, ctx)
  }

  const storability = checkStorable({
    requestHeaders: request.headers,
    requestCacheControl: parseCacheControl(request.headers.get('cache-control')),
    status: response.status,
    responseHeaders: response.headers,
    cacheControl,
    ttlOverride: route.ttl !== undefined,
    keyHeaders: route.key.headers,
  })
  const fwdStatus = stale ? response.status : undefined
  if (!storability.storable) {
    return forwardResponse(
      response,
      config.statusName,
      { fwd, fwdStatus, detail: storability.reason },
      request.method
    )
  }
  const body = await readBodyWithLimit(response, config.limits.maxBodyBytes)
  if (!body.complete) {
    const status: CacheStatus = { fwd, fwdStatus, detail: 'too-large' }
    return forwardResponse(response, config.statusName, status, request.method, body.stream)
  }
  const entry = buildEntry(exchange, body.bytes, route, config)
  ctx.waitUntil(store(req, found, entry, requestTime, ctx))
  const status: CacheStatus = {
    fwd,
    fwdStatus,
    stored: true,
    ttl: remainingTtl(entry, responseTime),
  }
  return serve(req, entry, status, responseTime, ctx)
}

/** Request headers that select the variant: the origin's Vary plus the route's key headers. */
function varyNames(entry: CacheEntry, route: CompiledRoute): string[] {
  const vary = entry.headers.find(([name]) => name === 'vary')?.[1] ?? null
  // Bodies are stored decoded and re-encoded per client by the runtime, so Accept-Encoding never selects.
  const names = new Set(parseFieldNames(vary).filter((name) => name !== 'accept-encoding'))
  for (const name of route.key.headers) names.add(name)
  return [...names].sort()
}

async function store(
  req: CacheRequest,
  found: Found,
  entry: CacheEntry,
  requestTime: number,
  ctx: ProxyContext
): Promise<void> {
  const { config } = ctx
  await storeVariant(ctx.tiers, {
    primary: req.primary,
    request: req.request.headers,
    entry,
    varyNames: varyNames(entry, req.route),
    existingIndex: found.index,
    requestTime,
    retainStaleMs: config.retainStaleSeconds * 1000,
    maxKeyLength: config.limits.maxKeyLength,
  })
}
