import { exceedsKeyLimit, normalizePath, normalizeQuery } from '../cache/cache-key'
import type { CacheEntry } from '../cache/entry'
import { refreshEntry, type OriginExchange } from '../cache/entry-builder'
import { lookupVariant, type Found } from '../cache/variant-store'
import { askCoalescer } from '../coalesce/coalescer-client'
import { fillPolicy, type FillRequest } from '../coalesce/protocol'
import type { FillResult } from '../fill/fill-result'
import type { CompiledRoute } from '../config/route-matcher'
import { responseDirectives } from '../http/cache-control'
import type { CacheStatus, ForwardReason } from '../http/cache-status'
import { answersNotModified } from '../http/conditional'
import { responseRefusesSharing } from '../http/storability'
import type { OriginBreaker } from '../origin/origin-breaker'
import { fetchForCache, storeFilled } from '../origin/origin-fill'
import { cacheableOriginHeaders } from '../origin/origin-request'
import type { RequestContext } from '../runtime/request-context'
import { failureResponse } from './origin-failure'
import { passThrough } from './pass-through'
import { remainingTtl, responseFromEntry, forwardResponse } from './respond'

/** One cacheable GET/HEAD on its way through the tiers. */
interface CacheRequest {
  readonly request: Request
  readonly route: CompiledRoute
  readonly path: string
  readonly query: string
  readonly primary: string
  /** Before the tiers were read: a fill that finished after it may answer this request. */
  readonly startedAt: number
}

/** Background refreshes in flight in one isolate at most (a hot stale key is refreshed once, not per hit). */
const MAX_REFRESHING = 1024

/**
 * GET/HEAD on a cached route: tiers → (fresh: hit, maybe an XFetch early refresh | stale-while-
 * revalidate: hit + background refresh | otherwise: revalidate, stale-if-error on failure) → miss:
 * fill through the key's Coalescer object (one origin fetch per key per domain), store, serve.
 * HEAD is answered from the GET entry; a HEAD miss fetches the GET so it can be stored.
 */
export async function handleCacheable(
  request: Request,
  url: URL,
  route: CompiledRoute,
  context: RequestContext
): Promise<Response> {
  const { config } = context
  // Sharing answers to authorised requests leaks them across identities unless the key holds the identity.
  if (request.headers.has('authorization') && !route.key.headers.includes('authorization')) {
    return passThrough(request, url, context, 'bypass', 'authorization')
  }
  const path = normalizePath(url.pathname)
  const query = normalizeQuery(url.searchParams, route.key)
  const primary = path + query
  if (exceedsKeyLimit(primary, config.limits.maxKeyLength)) {
    return passThrough(request, url, context, 'bypass', 'key-too-long')
  }
  const cacheable: CacheRequest = { request, route, path, query, primary, startedAt: Date.now() }
  const found = await lookupVariant(
    context.tiers,
    primary,
    request.headers,
    config.limits.maxKeyLength
  )
  const entry = found.entry
  if (entry === undefined) return fill(cacheable, found, undefined, context)

  const now = Date.now()
  if (now < entry.freshUntil) {
    if (refreshEarly(entry, now, context)) refreshInBackground(cacheable, found, context, true)
    // Only negative caching stores 4xx/5xx without the origin's own lifetime; count those hits.
    if (entry.status >= 400) context.isolate.metrics.increment('negative_hits_total')
    return serve(
      cacheable,
      entry,
      { hit: true, ttl: remainingTtl(entry, now), detail: found.tier },
      now,
      context
    )
  }
  if (!entry.mustRevalidate && now < entry.staleWhileRevalidateUntil) {
    refreshInBackground(cacheable, found, context, false)
    const status: CacheStatus = {
      hit: true,
      ttl: remainingTtl(entry, now),
      detail: `${found.tier} stale-while-revalidate`,
    }
    return serve(cacheable, entry, status, now, context)
  }
  return fill(cacheable, found, entry, context)
}

/**
 * XFetch (Vattani, Chierichetti & Lowenstein, VLDB 2015): refresh when
 * `now − fetchMs·β·ln(rand) ≥ expiry`, so the chance rises toward expiry and with the cost of a fetch.
 */
function refreshEarly(entry: CacheEntry, now: number, context: RequestContext): boolean {
  const { enabled, beta } = context.config.xfetch
  if (!enabled || entry.fetchMs <= 0) return false
  return now - entry.fetchMs * beta * Math.log(Math.random()) >= entry.freshUntil
}

function serve(
  cacheable: CacheRequest,
  entry: CacheEntry,
  status: CacheStatus,
  now: number,
  context: RequestContext
) {
  return responseFromEntry(entry, {
    cacheName: context.config.statusName,
    method: cacheable.request.method,
    status,
    now,
    notModified: answersNotModified(cacheable.request.headers, entry),
  })
}

function refreshInBackground(
  cacheable: CacheRequest,
  found: Found,
  context: RequestContext,
  early: boolean
): void {
  // One refresh per variant: variants of a URL go stale and refresh independently.
  const key = found.key ?? cacheable.primary
  const { refreshing, metrics } = context.isolate
  if (refreshing.has(key) || refreshing.size >= MAX_REFRESHING) return
  if (early) metrics.increment('early_refreshes_total')
  // The refresh's own writes belong to it: it ends when the new copy is in the tiers.
  const writes: Promise<unknown>[] = []
  const own: RequestContext = { ...context, waitUntil: (promise) => void writes.push(promise) }
  const work = fill(cacheable, found, found.entry, own, true)
    .then((response) => response.body?.cancel())
    .then(() => Promise.all(writes))
    .then(() => {})
    .catch(() => {})
    .finally(() => refreshing.delete(key))
  refreshing.set(key, work)
  context.waitUntil(work)
}

/**
 * Serves `stale` when the origin failed and the copy is within stale-if-error (never for
 * must-revalidate copies); undefined otherwise, so the caller answers with the failure.
 */
function serveStaleOnError(
  cacheable: CacheRequest,
  stale: CacheEntry | undefined,
  status: { fwd: ForwardReason; fwdStatus?: number; collapsed?: boolean },
  now: number,
  context: RequestContext
): Response | undefined {
  if (!stale || stale.mustRevalidate || now >= stale.staleIfErrorUntil) return undefined
  const cacheStatus: CacheStatus = {
    ...status,
    ttl: remainingTtl(stale, now),
    detail: 'stale-if-error',
  }
  return serve(cacheable, stale, cacheStatus, now, context)
}

function forwardReason(found: Found, stale: CacheEntry | undefined): ForwardReason {
  return stale ? 'stale' : found.index ? 'vary-miss' : 'miss'
}

/**
 * A miss, a revalidation or a background refresh: through the key's Coalescer object when it can
 * take it, else (coalescing off, object unavailable, response not shareable) straight to the origin.
 */
async function fill(
  cacheable: CacheRequest,
  found: Found,
  stale: CacheEntry | undefined,
  context: RequestContext,
  background = false
): Promise<Response> {
  const { config } = context
  const { request, route } = cacheable
  const originHeaders = cacheableOriginHeaders(request.headers, route, config)
  const validators = stale && { etag: stale.etag, lastModified: stale.lastModified }
  const fillRequest: FillRequest = {
    // Requests share a fetch only if the origin would see the same request.
    key: [
      cacheable.primary,
      [...originHeaders].map(([name, value]) => `${name}:${value}`).join('\n'),
      request.headers.get('cache-control') ?? '',
      validators?.etag ?? '',
      validators?.lastModified ?? '',
    ].join('\n\n'),
    primary: cacheable.primary,
    path: cacheable.path,
    query: cacheable.query,
    headers: [...request.headers],
    home: context.l2?.location.home,
    validators: validators && (validators.etag ?? validators.lastModified) ? validators : undefined,
    newerThan: stale?.storedAt,
    missedAt: cacheable.startedAt,
    policy: fillPolicy(config, route),
  }
  // This isolate's view of the origin gates both paths: while its breaker is open, neither the
  // Coalescer nor the origin is asked (stale-if-error copies are served, the rest get a quick 503).
  const breaker = context.isolate.originBreaker
  if (breaker && !breaker.allow(Date.now())) {
    const open: FillResult = { kind: 'failed', reason: 'circuit-open' }
    return respondToFill(cacheable, found, stale, open, context, { leader: true, shared: false })!
  }
  const answer = await askCoalescer(context.isolate, fillRequest)
  if (answer && answer.kind !== 'timeout') {
    // One origin call, one report: the leader's caller records it, not each of its followers.
    if (breaker && answer.leader) recordOrigin(breaker, cacheable.primary, answer)
    if (background && answer.leader && answer.kind === 'entry' && answer.source === 'origin') {
      context.isolate.metrics.increment('origin_fetches_total', { reason: 'refresh' })
    }
  }
  const waited: FillResult | undefined =
    answer?.kind === 'timeout' ? { kind: 'failed', reason: 'timeout' } : answer
  const response =
    waited &&
    respondToFill(cacheable, found, stale, waited, context, {
      // A wait that timed out is this request's own failure, not a collapsed one.
      leader: answer?.kind === 'timeout' ? true : answer!.leader,
      shared: true,
    })
  if (response) return response
  // Coalescing off, the object unavailable, or the answer not shareable: to the origin ourselves,
  // conditionally when a stale copy has validators.
  if (background) context.isolate.metrics.increment('origin_fetches_total', { reason: 'refresh' })
  const own = await fetchForCache({
    config,
    breaker,
    route,
    path: cacheable.path,
    query: cacheable.query,
    requestHeaders: request.headers,
    validators: fillRequest.validators && stale,
    admitted: true,
  })
  return respondToFill(cacheable, found, stale, own, context, { leader: true, shared: false })!
}

/** What a fill's result says about the origin, fed to this isolate's breaker. */
function recordOrigin(breaker: OriginBreaker, key: string, result: FillResult): void {
  const now = Date.now()
  switch (result.kind) {
    case 'entry':
      if (result.source === 'origin') breaker.record(now, key, breaker.outcomeOf(result.fwdStatus))
      return
    case 'not-modified':
      return breaker.record(now, key, 'answered')
    case 'response':
      return breaker.record(now, key, breaker.outcomeOf(result.status))
    case 'failed':
      if (result.reason === 'circuit-open') return
      if (result.reason === 'status' && result.status !== undefined)
        return breaker.record(now, key, breaker.outcomeOf(result.status))
      return breaker.record(now, key, 'failed')
  }
}

/**
 * The one translation of a fill's result into the client's response, whoever made the fill: this
 * Worker's own origin fetch, or the key's Coalescer object (`shared`: its entries are checked
 * against this colo's purge view, and `leader` says whether this request caused the fetch).
 * Undefined means "fetch for yourself": the Coalescer would not share it.
 */
function respondToFill(
  cacheable: CacheRequest,
  found: Found,
  stale: CacheEntry | undefined,
  result: FillResult,
  context: RequestContext,
  how: { readonly leader: boolean; readonly shared: boolean }
): Response | undefined {
  const { config } = context
  const fwd = forwardReason(found, stale)
  const collapsed = !how.leader
  switch (result.kind) {
    case 'entry': {
      let entry = result.entry
      if (how.shared) {
        // The object's L2 read or its recent results can predate a purge this colo has seen: the
        // purge view has the last word, as for any far copy (a refused copy is fetched afresh).
        const verdict = context.purge.scope.view.check(found.key ?? cacheable.primary, entry, false)
        if (verdict?.kind !== 'response') return undefined
        entry = verdict
      }
      const fromOrigin = result.source === 'origin'
      // The filler stored it in L2 (the Coalescer) or stores it here; the nearer tiers are ours.
      context.waitUntil(store(cacheable, found, entry, entry.storedAt - entry.fetchMs, context))
      // The leader is answered as of the origin's response, like a direct fetch.
      const now = how.leader && fromOrigin ? entry.storedAt : Date.now()
      const ttl = remainingTtl(entry, now)
      const status: CacheStatus = fromOrigin
        ? { fwd, fwdStatus: stale ? result.fwdStatus : undefined, stored: true, ttl, collapsed }
        : { hit: true, ttl, detail: result.source }
      return serve(cacheable, entry, status, now, context)
    }
    case 'not-modified': {
      if (!stale) return undefined
      const headers = new Headers(result.headers as Array<[string, string]>)
      const exchange: OriginExchange = {
        status: 304,
        headers,
        cacheControl: responseDirectives(headers),
        requestTime: result.requestTime,
        responseTime: result.responseTime,
      }
      return serveRevalidated(cacheable, found, stale, exchange, context, collapsed)
    }
    case 'failed': {
      const served = serveStaleOnError(
        cacheable,
        stale,
        { fwd: 'stale', fwdStatus: result.status, collapsed },
        Date.now(),
        context
      )
      return (
        served ?? failureResponse(result.reason, config.statusName, fwd, result.status, collapsed)
      )
    }
    case 'response': {
      const served =
        result.status >= 500
          ? serveStaleOnError(
              cacheable,
              stale,
              { fwd, fwdStatus: result.status },
              Date.now(),
              context
            )
          : undefined
      if (served) {
        void result.body?.cancel().catch(() => {})
        return served
      }
      const response = new Response(result.body, {
        status: result.status,
        headers: result.headers as Array<[string, string]>,
      })
      if (stale) {
        const exchange = { status: result.status, headers: response.headers }
        forgetIfRefused(cacheable, found, exchange, context)
      }
      const status: CacheStatus = {
        fwd,
        fwdStatus: stale ? result.status : undefined,
        detail: result.reason,
      }
      return forwardResponse(response, config.statusName, status, cacheable.request.method)
    }
    case 'uncacheable':
      return undefined
  }
}

/**
 * A 304 validated the stale copy (RFC 9111 §4.3.4): the copy takes the 304's fields and a new
 * lifetime, and is stored again only if it may still be shared; if the 304 says `private`, `no-store`
 * or sets a cookie, this client gets its answer and the shared copy is deleted.
 */
function serveRevalidated(
  cacheable: CacheRequest,
  found: Found,
  stale: CacheEntry,
  exchange: OriginExchange,
  context: RequestContext,
  collapsed: boolean
): Response {
  const refreshed = refreshEntry(stale, exchange, cacheable.route, context.config)
  const merged = new Headers(refreshed.headers as Array<[string, string]>)
  // Set-Cookie is never kept in a stored copy, but a 304 that sets one still refuses sharing.
  for (const cookie of exchange.headers.getSetCookie()) merged.append('set-cookie', cookie)
  const shareable = !responseRefusesSharing(stale.status, merged, responseDirectives(merged))
  context.waitUntil(
    shareable
      ? store(cacheable, found, refreshed, exchange.requestTime, context)
      : forget(cacheable, found, context)
  )
  const status: CacheStatus = {
    fwd: forwardReason(found, stale),
    fwdStatus: 304,
    stored: shareable,
    ttl: remainingTtl(refreshed, exchange.responseTime),
    collapsed,
  }
  return serve(cacheable, refreshed, status, exchange.responseTime, context)
}

/** A refresh whose answer refuses to be shared (now `private`, `no-store`...) retires the stored copy. */
function forgetIfRefused(
  cacheable: CacheRequest,
  found: Found,
  exchange: { readonly status: number; readonly headers: Headers },
  context: RequestContext
): void {
  const { status, headers } = exchange
  if (responseRefusesSharing(status, headers, responseDirectives(headers)))
    context.waitUntil(forget(cacheable, found, context))
}

async function forget(
  cacheable: CacheRequest,
  found: Found,
  context: RequestContext
): Promise<void> {
  await context.tiers.delete(found.key ?? cacheable.primary).catch(() => false)
}

async function store(
  cacheable: CacheRequest,
  found: Found,
  entry: CacheEntry,
  requestTime: number,
  context: RequestContext
): Promise<void> {
  await storeFilled(context.tiers, {
    config: context.config,
    route: cacheable.route,
    primary: cacheable.primary,
    requestHeaders: cacheable.request.headers,
    entry,
    existingIndex: found.index,
    requestTime,
  })
}
