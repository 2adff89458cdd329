import { exceedsKeyLimit, normalizePath, normalizeQuery } from '../cache/cache-key'
import type { CacheEntry } from '../cache/entry'
import { refreshEntry, type OriginExchange } from '../cache/entry-builder'
import { decodeRecord } from '../cache/entry-codec'
import { lookupVariant, type Found } from '../cache/variant-store'
import { askCoalescer, type CoalesceResult } from '../coalesce/coalescer-client'
import { fillPolicy, type FillAnswer, type FillRequest } from '../coalesce/protocol'
import type { CompiledRoute } from '../config/route-matcher'
import { responseDirectives } from '../http/cache-control'
import type { CacheStatus, ForwardReason } from '../http/cache-status'
import { answersNotModified } from '../http/conditional'
import { responseRefusesSharing } from '../http/storability'
import { metrics } from '../metrics/accumulator'
import { originBreaker, type OriginBreaker } from '../origin/origin-breaker'
import { fetchForCache, storeFilled } from '../origin/origin-fill'
import { cacheableOriginHeaders } from '../origin/origin-request'
import type { ProxyContext } from './context'
import { purgeScopeOf } from './request-tiers'
import { failureResponse, originFailure } from './origin-failure'
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

/** Background refreshes in flight in this isolate, so a hot stale key is refreshed once, not per hit. */
const refreshing = new Map<string, Promise<void>>()
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
  const req: CacheRequest = { request, route, path, query, primary, startedAt: Date.now() }
  const found = await lookupVariant(ctx.tiers, primary, request.headers, config.limits.maxKeyLength)
  const entry = found.entry
  if (entry === undefined) return fill(req, found, undefined, ctx)

  const now = Date.now()
  if (now < entry.freshUntil) {
    if (refreshEarly(entry, now, ctx)) refreshInBackground(req, found, ctx, true)
    // Only negative caching stores 4xx/5xx without the origin's own lifetime; count those hits.
    if (entry.status >= 400) metrics.increment('negative_hits_total')
    return serve(
      req,
      entry,
      { hit: true, ttl: remainingTtl(entry, now), detail: found.tier },
      now,
      ctx
    )
  }
  if (!entry.mustRevalidate && now < entry.staleWhileRevalidateUntil) {
    refreshInBackground(req, found, ctx, false)
    const status: CacheStatus = {
      hit: true,
      ttl: remainingTtl(entry, now),
      detail: `${found.tier} stale-while-revalidate`,
    }
    return serve(req, entry, status, now, ctx)
  }
  return fill(req, found, entry, ctx)
}

/**
 * XFetch (Vattani, Chierichetti & Lowenstein, VLDB 2015): refresh when
 * `now − fetchMs·β·ln(rand) ≥ expiry`, so the chance rises toward expiry and with the cost of a fetch.
 */
function refreshEarly(entry: CacheEntry, now: number, ctx: ProxyContext): boolean {
  const { enabled, beta } = ctx.config.xfetch
  if (!enabled || entry.fetchMs <= 0) return false
  return now - entry.fetchMs * beta * Math.log(Math.random()) >= entry.freshUntil
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
    notModified: answersNotModified(req.request.headers, entry),
  })
}

function refreshInBackground(
  req: CacheRequest,
  found: Found,
  ctx: ProxyContext,
  early: boolean
): void {
  // One refresh per variant: variants of a URL go stale and refresh independently.
  const key = found.key ?? req.primary
  if (refreshing.has(key) || refreshing.size >= MAX_REFRESHING) return
  if (early) metrics.increment('early_refreshes_total')
  // The refresh's own writes belong to it: it ends when the new copy is in the tiers.
  const writes: Promise<unknown>[] = []
  const own: ProxyContext = { ...ctx, waitUntil: (promise) => void writes.push(promise) }
  const work = fill(req, found, found.entry, own, true)
    .then((response) => response.body?.cancel())
    .then(() => Promise.all(writes))
    .then(() => {})
    .catch(() => {})
    .finally(() => refreshing.delete(key))
  refreshing.set(key, work)
  ctx.waitUntil(work)
}

/**
 * Serves `stale` when the origin failed and the copy is within stale-if-error (never for
 * must-revalidate copies); undefined otherwise, so the caller answers with the failure.
 */
function serveStaleOnError(
  req: CacheRequest,
  stale: CacheEntry | undefined,
  status: { fwd: ForwardReason; fwdStatus?: number; collapsed?: boolean },
  now: number,
  ctx: ProxyContext
): Response | undefined {
  if (!stale || stale.mustRevalidate || now >= stale.staleIfErrorUntil) return undefined
  const cacheStatus: CacheStatus = {
    ...status,
    ttl: remainingTtl(stale, now),
    detail: 'stale-if-error',
  }
  return serve(req, stale, cacheStatus, now, ctx)
}

function forwardReason(found: Found, stale: CacheEntry | undefined): ForwardReason {
  return stale ? 'stale' : found.index ? 'vary-miss' : 'miss'
}

/**
 * A miss, a revalidation or a background refresh: through the key's Coalescer object when it can
 * take it, else (coalescing off, object unavailable, response not shareable) straight to the origin.
 */
async function fill(
  req: CacheRequest,
  found: Found,
  stale: CacheEntry | undefined,
  ctx: ProxyContext,
  background = false
): Promise<Response> {
  const { config } = ctx
  const { request, route } = req
  const originHeaders = cacheableOriginHeaders(request.headers, route, config)
  const validators = stale && { etag: stale.etag, lastModified: stale.lastModified }
  const fillRequest: FillRequest = {
    // Requests share a fetch only if the origin would see the same request.
    key: [
      req.primary,
      [...originHeaders].map(([name, value]) => `${name}:${value}`).join('\n'),
      request.headers.get('cache-control') ?? '',
      validators?.etag ?? '',
      validators?.lastModified ?? '',
    ].join('\n\n'),
    primary: req.primary,
    path: req.path,
    query: req.query,
    headers: [...request.headers],
    home: ctx.l2?.location.home,
    validators: validators && (validators.etag ?? validators.lastModified) ? validators : undefined,
    newerThan: stale?.storedAt,
    missedAt: req.startedAt,
    policy: fillPolicy(config, route),
  }
  // This isolate's view of the origin gates both paths: while its breaker is open, neither the
  // Coalescer nor the origin is asked (stale-if-error copies are served, the rest get a quick 503).
  const breaker = originBreaker(config)
  if (breaker && !breaker.allow(Date.now())) {
    const open: CoalesceResult = { kind: 'failed', reason: 'circuit-open', leader: true }
    return fromCoalescer(req, found, stale, open, ctx, background)!
  }
  const answer = await askCoalescer(config, fillRequest)
  // One origin call, one report: the leader's caller records it, not each of its followers.
  if (answer && breaker && answer.kind !== 'timeout' && answer.leader)
    recordOrigin(breaker, req.primary, answer)
  const response = answer && fromCoalescer(req, found, stale, answer, ctx, background)
  if (response) return response
  if (background) metrics.increment('origin_fetches_total', { reason: 'refresh' })
  return fetchDirect(req, found, stale, fillRequest.validators !== undefined, ctx)
}

/** What the Coalescer's answer says about the origin, fed to this isolate's breaker. */
function recordOrigin(breaker: OriginBreaker, key: string, answer: FillAnswer): void {
  const now = Date.now()
  switch (answer.kind) {
    case 'entry':
      if (answer.source === 'origin') breaker.record(now, key, breaker.outcomeOf(answer.fwdStatus))
      return
    case 'not-modified':
      return breaker.record(now, key, 'answered')
    case 'response':
      return breaker.record(now, key, breaker.outcomeOf(answer.status))
    case 'failed':
      if (answer.reason === 'circuit-open') return
      if (answer.reason === 'status' && answer.status !== undefined)
        return breaker.record(now, key, breaker.outcomeOf(answer.status))
      return breaker.record(now, key, 'failed')
  }
}

/** Serves what the Coalescer answered; undefined when this request must fetch for itself. */
function fromCoalescer(
  req: CacheRequest,
  found: Found,
  stale: CacheEntry | undefined,
  answer: CoalesceResult,
  ctx: ProxyContext,
  background: boolean
): Response | undefined {
  const { config } = ctx
  const fwd = forwardReason(found, stale)
  const collapsed = answer.kind !== 'timeout' && !answer.leader
  switch (answer.kind) {
    case 'entry': {
      const decoded = decodeRecord(answer.bytes)
      if (decoded.kind !== 'response') return undefined
      // The object's L2 read or its recent results can predate a purge this colo has seen: the
      // purge view has the last word, as for any far copy (a refused copy is fetched afresh).
      const view = purgeScopeOf(ctx.tiers)?.scope.view
      const verdict = view ? view.check(found.key ?? req.primary, decoded, false) : decoded
      if (verdict?.kind !== 'response') return undefined
      const record = verdict
      if (background && answer.leader && answer.source === 'origin') {
        metrics.increment('origin_fetches_total', { reason: 'refresh' })
      }
      // The object stored it in L2; the nearer tiers are this Worker's to fill.
      ctx.waitUntil(store(req, found, record, record.storedAt - record.fetchMs, ctx))
      // The leader is answered as of the origin's response, like a direct fetch.
      const now = answer.leader && answer.source === 'origin' ? record.storedAt : Date.now()
      const ttl = remainingTtl(record, now)
      const status: CacheStatus =
        answer.source === 'origin'
          ? {
              fwd,
              fwdStatus: stale ? answer.fwdStatus : undefined,
              stored: true,
              ttl,
              collapsed,
            }
          : { hit: true, ttl, detail: answer.source }
      return serve(req, record, status, now, ctx)
    }
    case 'not-modified': {
      if (!stale) return undefined
      const headers = new Headers(answer.headers as Array<[string, string]>)
      const exchange: OriginExchange = {
        status: 304,
        headers,
        cacheControl: responseDirectives(headers),
        requestTime: answer.requestTime,
        responseTime: answer.responseTime,
      }
      return serveRevalidated(req, found, stale, exchange, ctx, collapsed)
    }
    case 'failed':
    case 'timeout': {
      const reason = answer.kind === 'timeout' ? 'timeout' : answer.reason
      const status = answer.kind === 'failed' ? answer.status : undefined
      const served = serveStaleOnError(
        req,
        stale,
        { fwd: 'stale', fwdStatus: status, collapsed },
        Date.now(),
        ctx
      )
      return served ?? failureResponse(reason, config.statusName, fwd, status, collapsed)
    }
    case 'response': {
      const served =
        answer.status >= 500
          ? serveStaleOnError(req, stale, { fwd, fwdStatus: answer.status }, Date.now(), ctx)
          : undefined
      if (served) {
        void answer.body?.cancel().catch(() => {})
        return served
      }
      const response = new Response(answer.body, {
        status: answer.status,
        headers: answer.headers as Array<[string, string]>,
      })
      if (stale) {
        const exchange = { status: answer.status, headers: response.headers }
        forgetIfRefused(req, found, exchange, ctx)
      }
      const status: CacheStatus = {
        fwd,
        fwdStatus: stale ? answer.status : undefined,
        detail: answer.reason,
      }
      return forwardResponse(response, config.statusName, status, req.request.method)
    }
    case 'uncacheable':
      return undefined
  }
}

/**
 * Goes to the origin itself for a missing key, or to revalidate a stale copy (conditionally, with its
 * validators). A 304 refreshes the copy without a body; an error falls back to stale-if-error.
 */
async function fetchDirect(
  req: CacheRequest,
  found: Found,
  stale: CacheEntry | undefined,
  conditional: boolean,
  ctx: ProxyContext
): Promise<Response> {
  const { config } = ctx
  const { request, route } = req
  const fwd = forwardReason(found, stale)
  const outcome = await fetchForCache({
    config,
    route,
    path: req.path,
    query: req.query,
    requestHeaders: request.headers,
    validators: conditional && stale ? stale : undefined,
    admitted: true,
  })
  if (outcome.kind === 'failed') {
    const served = serveStaleOnError(req, stale, { fwd: 'stale' }, Date.now(), ctx)
    return served ?? originFailure(outcome.error, config.statusName, fwd)
  }

  const { exchange } = outcome
  const { requestTime, responseTime } = exchange
  if (outcome.kind === 'not-modified' && stale) {
    await outcome.response.body?.cancel()
    return serveRevalidated(req, found, stale, exchange, ctx, false)
  }
  const fwdStatus = stale ? exchange.status : undefined
  if (outcome.kind === 'stored') {
    const entry = outcome.entry
    ctx.waitUntil(store(req, found, entry, requestTime, ctx))
    const status: CacheStatus = {
      fwd,
      fwdStatus,
      stored: true,
      ttl: remainingTtl(entry, responseTime),
    }
    return serve(req, entry, status, responseTime, ctx)
  }
  if (outcome.kind === 'forward') {
    const served =
      exchange.status >= 500
        ? serveStaleOnError(req, stale, { fwd, fwdStatus: exchange.status }, responseTime, ctx)
        : undefined
    if (served) {
      await outcome.body?.cancel()
      return served
    }
    if (stale) forgetIfRefused(req, found, exchange, ctx)
    const status: CacheStatus = { fwd, fwdStatus, detail: outcome.reason }
    return forwardResponse(
      outcome.response,
      config.statusName,
      status,
      request.method,
      outcome.body
    )
  }
  // A 304 to an unconditional request (no stale copy): pass it on.
  return forwardResponse(outcome.response, config.statusName, { fwd, fwdStatus }, request.method)
}

/**
 * A 304 validated the stale copy (RFC 9111 §4.3.4): the copy takes the 304's fields and a new
 * lifetime, and is stored again only if it may still be shared; if the 304 says `private`, `no-store`
 * or sets a cookie, this client gets its answer and the shared copy is deleted.
 */
function serveRevalidated(
  req: CacheRequest,
  found: Found,
  stale: CacheEntry,
  exchange: OriginExchange,
  ctx: ProxyContext,
  collapsed: boolean
): Response {
  const refreshed = refreshEntry(stale, exchange, req.route, ctx.config)
  const merged = new Headers(refreshed.headers as Array<[string, string]>)
  // Set-Cookie is never kept in a stored copy, but a 304 that sets one still refuses sharing.
  for (const cookie of exchange.headers.getSetCookie()) merged.append('set-cookie', cookie)
  const shareable = !responseRefusesSharing(stale.status, merged, responseDirectives(merged))
  ctx.waitUntil(
    shareable ? store(req, found, refreshed, exchange.requestTime, ctx) : forget(req, found, ctx)
  )
  const status: CacheStatus = {
    fwd: forwardReason(found, stale),
    fwdStatus: 304,
    stored: shareable,
    ttl: remainingTtl(refreshed, exchange.responseTime),
    collapsed,
  }
  return serve(req, refreshed, status, exchange.responseTime, ctx)
}

/** A refresh whose answer refuses to be shared (now `private`, `no-store`...) retires the stored copy. */
function forgetIfRefused(
  req: CacheRequest,
  found: Found,
  exchange: { readonly status: number; readonly headers: Headers },
  ctx: ProxyContext
): void {
  const { status, headers } = exchange
  if (responseRefusesSharing(status, headers, responseDirectives(headers)))
    ctx.waitUntil(forget(req, found, ctx))
}

async function forget(req: CacheRequest, found: Found, ctx: ProxyContext): Promise<void> {
  await ctx.tiers.delete(found.key ?? req.primary).catch(() => false)
}

async function store(
  req: CacheRequest,
  found: Found,
  entry: CacheEntry,
  requestTime: number,
  ctx: ProxyContext
): Promise<void> {
  await storeFilled(ctx.tiers, {
    config: ctx.config,
    route: req.route,
    primary: req.primary,
    requestHeaders: req.request.headers,
    entry,
    existingIndex: found.index,
    requestTime,
  })
}
