import { exceedsKeyLimit, normalizedQueryOf, normalizePath } from '../cache/cache-key'
import { withBytes, type CacheEntry, type EntryHead, type ReadEntry } from '../cache/entry'
import type { TierStack } from '../cache/tier-stack'
import { refreshEntry, type OriginExchange } from '../cache/entry-builder'
import { lookupVariant, type Found } from '../cache/variant-store'
import { askCoalescer } from '../coalesce/coalescer-client'
import { fillPolicy, type FillRequest } from '../coalesce/protocol'
import { hash64 } from '../coalesce/shard'
import type { FillResult } from '../fill/fill-result'
import type { CompiledRoute } from '../config/route-matcher'
import {
  credentialDigest,
  shareableAcrossCredentials,
  variantSelectors,
} from '../http/authorization'
import { responseDirectives } from '../http/cache-control'
import type { CacheStatus, ForwardReason } from '../http/cache-status'
import { answersNotModified } from '../http/conditional'
import { errorResponse } from '../http/error-response'
import { rangeFor } from '../http/range'
import {
  clientDirectives,
  copyUse,
  type CopyUse,
  type RequestDirectives,
} from '../http/request-directives'
import { responseRefusesSharing } from '../http/storability'
import type { OriginBreaker } from '../origin/origin-breaker'
import { fetchForCache, storeFilled } from '../origin/origin-fill'
import { log } from '../lib/log'
import { keyHash } from '../popularity/pending-hits'
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
  /** The request's Cache-Control directives its route honours (RFC 9111 §5.2.1); usually none. */
  readonly directives: RequestDirectives | undefined
  /** Its directives refused the stored copy: validate with the origin (`fresh`: the copy was fresh). */
  readonly forced?: 'fresh' | 'stale'
  /**
   * It has Authorization on an `rfc9111` route (RFC 9111 §3.5): its copies are the authorised
   * partition's, and its own non-shareable answers never retire them (they may be its credential's).
   */
  readonly authorised: boolean
  /** On an `adaptiveTtl` route: the key's hash in the popularity structures. */
  readonly popularity?: number
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
  // Sharing answers to authorised requests leaks them across identities unless the key holds the
  // identity, or the route applies RFC 9111 §3.5 (only answers the origin marks shareable are kept).
  const authorization = request.headers.has('authorization')
  if (
    authorization &&
    route.authorization !== 'rfc9111' &&
    !route.key.headers.includes('authorization')
  ) {
    return passThrough(request, url, context, 'bypass', 'authorization')
  }
  const path = normalizePath(url.pathname)
  const query = normalizedQueryOf(url, route.key)
  const primary = path + query
  if (exceedsKeyLimit(primary, config.limits.maxKeyLength)) {
    return passThrough(request, url, context, 'bypass', 'key-too-long')
  }
  const directives = clientDirectives(request.headers, route.requestDirectives)
  const cacheable: CacheRequest = {
    request,
    route,
    path,
    query,
    primary,
    startedAt: Date.now(),
    directives,
    authorised: authorization && route.authorization === 'rfc9111',
    popularity: route.adaptiveTtl ? keyHash(primary) : undefined,
  }
  // Every request counts, hits above all: they never reach a filler, so they ride on the next ask.
  if (cacheable.popularity !== undefined)
    context.isolate.popularity.pending.count(cacheable.popularity)
  const found = await lookupVariant(
    context.tiers,
    primary,
    // An `rfc9111` route selects the authorised or the anonymous partition, never a credential's.
    variantSelectors(request.headers, route.authorization),
    config.limits.maxKeyLength
  )
  const entry = found.entry
  // only-if-cached (RFC 9111 §5.2.1.7): a stored copy usable without the origin, or 504.
  const onlyIfCached = directives?.onlyIfCached === true
  if (entry === undefined) {
    return onlyIfCached ? notCached(cacheable, context) : fill(cacheable, found, undefined, context)
  }

  const now = Date.now()
  const use = directives && directiveUse(entry, now, directives, context)
  if (use === 'revalidate') {
    if (onlyIfCached) return notCached(cacheable, context)
    const forced = now < entry.freshUntil ? 'fresh' : 'stale'
    return fill({ ...cacheable, forced }, found, await staleBytes(entry), context)
  }
  if (use === 'max-stale') {
    const status: CacheStatus = {
      hit: true,
      ttl: remainingTtl(entry, now),
      detail: `${found.tier} max-stale`,
    }
    return serve(cacheable, entry, status, now, context)
  }
  if (now < entry.freshUntil) {
    // only-if-cached promises no origin contact for this request, background refreshes included.
    if (!onlyIfCached && refreshEarly(found.key ?? primary, entry, now, context))
      refreshInBackground(cacheable, found, context, true)
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
    if (!onlyIfCached) refreshInBackground(cacheable, found, context, false)
    const status: CacheStatus = {
      hit: true,
      ttl: remainingTtl(entry, now),
      detail: `${found.tier} stale-while-revalidate`,
    }
    return serve(cacheable, entry, status, now, context)
  }
  if (onlyIfCached) return notCached(cacheable, context)
  return fill(cacheable, found, await staleBytes(entry), context)
}

/**
 * A copy about to be revalidated, its body read now (an L1 body is still in the Cache API): the
 * origin's 304 then needs no further read, and a body that cannot be read makes it a plain miss.
 */
async function staleBytes(entry: ReadEntry): Promise<CacheEntry | undefined> {
  try {
    return await withBytes(entry)
  } catch (error) {
    log.warn('tier_failure', { tier: 'L1', operation: 'get', error })
    return undefined
  }
}

/** The request's directives applied to a stored copy; a copy that forbids stale use never gets max-stale. */
function directiveUse(
  entry: EntryHead,
  now: number,
  directives: RequestDirectives,
  context: RequestContext
): CopyUse {
  // s-maxage carries proxy-revalidate for a shared cache (RFC 9111 §5.2.2.10): read only when asked.
  const noStaleUse = () =>
    entry.mustRevalidate ||
    responseDirectives(
      new Headers(entry.headers as Array<[string, string]>),
      context.config.targetedCacheControl
    ).sMaxAge !== undefined
  return copyUse(
    { ...entry, noStaleUse: directives.maxStale !== undefined && noStaleUse() },
    now,
    directives
  )
}

/** RFC 9111 §5.2.1.7: only-if-cached and no stored copy usable without the origin: 504. */
function notCached(cacheable: CacheRequest, context: RequestContext): Response {
  const response = errorResponse(
    504,
    'not_cached',
    'No stored response satisfies only-if-cached.',
    // Nothing went forward: a member with neither `hit` nor `fwd` (RFC 9211 §2).
    { 'cache-status': `${context.config.statusName}; detail=only-if-cached` }
  )
  if (cacheable.request.method !== 'HEAD') return response
  return new Response(null, { status: response.status, headers: response.headers })
}

/**
 * XFetch (Vattani, Chierichetti & Lowenstein, VLDB 2015): refresh when
 * `now − fetchMs·β·ln(u) ≥ expiry`, so the chance rises toward expiry and with the cost of a fetch.
 *
 * `u` is drawn once per stored copy, not on every read. With a draw per read, a key read r times per
 * ms fires at the earliest of its draws, about fetchMs·β·ln(r·fetchMs·β) before expiry (≈ 400 ms of a
 * 1 s TTL at 600 reads/s): the hotter the key, the shorter each copy's life, and the more origin
 * fetches per TTL (10 to 11 over 6 expiries in stampede-protection.test.ts). Drawn per copy, a copy is
 * due by `t` with the probability XFetch gives a read at `t`, whatever the load: fetchMs·β early on
 * average, so at β = 1 the new copy lands about when the old one expires. The draw hashes the key and
 * the copy's `storedAt`: every tier, isolate and colo holding the copy agrees on its instant, and the
 * refreshes they start meet in the key's Coalescer object.
 */
function refreshEarly(
  key: string,
  entry: EntryHead,
  now: number,
  context: RequestContext
): boolean {
  const { enabled, beta } = context.config.xfetch
  if (!enabled || entry.fetchMs <= 0) return false
  const scale = entry.fetchMs * beta
  // −ln u < 37 for every draw: a copy further from expiry is not due, and most hits skip the hash.
  if (now + scale * 37 < entry.freshUntil) return false
  return now - scale * Math.log(copyDraw(key, entry)) >= entry.freshUntil
}

/** A uniform draw in (0, 1], fixed for one stored copy of `key` (its `storedAt` names the copy). */
export function copyDraw(key: string, entry: Pick<CacheEntry, 'storedAt'>): number {
  // 53 bits of the hash, so the draw is an exact double; + 1 keeps ln(u) finite.
  const bits = Number(hash64(`${entry.storedAt}\n${key}`) >> 11n)
  return (bits + 1) / 2 ** 53
}

function serve(
  cacheable: CacheRequest,
  entry: ReadEntry,
  status: CacheStatus,
  now: number,
  context: RequestContext
): Response | Promise<Response> {
  return responseFromEntry(entry, {
    cacheName: context.config.statusName,
    method: cacheable.request.method,
    status,
    now,
    notModified: answersNotModified(cacheable.request.headers, entry),
    // Evaluated after the 304 check, as RFC 9110 §13.2.2 orders them (responseFromEntry: 304 first).
    range: rangeFor(cacheable.request.method, cacheable.request.headers, entry),
    targeted: context.config.targetedCacheControl,
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
  // The cache's own fetch, not the client's miss: miss-rate limits do not count it.
  const own: RequestContext = {
    ...context,
    originGate: undefined,
    waitUntil: (promise) => void writes.push(promise),
  }
  // The cache's own refresh, not the client's exchange: its directives (no-store...) do not apply.
  const work = fill({ ...cacheable, directives: undefined }, found, found.entry, own, true)
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
  stale: ReadEntry | undefined,
  status: { fwd: ForwardReason; fwdStatus?: number; collapsed?: boolean },
  now: number,
  context: RequestContext
): Response | Promise<Response> | undefined {
  if (!stale || stale.mustRevalidate || now >= stale.staleIfErrorUntil) return undefined
  const cacheStatus: CacheStatus = {
    ...status,
    ttl: remainingTtl(stale, now),
    detail: 'stale-if-error',
  }
  return serve(cacheable, stale, cacheStatus, now, context)
}

function forwardReason(
  cacheable: CacheRequest,
  found: Found,
  stale: EntryHead | undefined
): ForwardReason {
  // RFC 9211 `fwd=request`: a fresh copy, but the request's directives did not allow its use.
  if (cacheable.forced === 'fresh') return 'request'
  return stale ? 'stale' : found.index ? 'vary-miss' : 'miss'
}

/**
 * A miss, a revalidation or a background refresh: through the key's Coalescer object when it can
 * take it, else (coalescing off, object unavailable, response not shareable) straight to the origin.
 */
async function fill(
  cacheable: CacheRequest,
  found: Found,
  /** Read into memory in the foreground; a background refresh's may still be in L1. */
  stale: ReadEntry | undefined,
  context: RequestContext,
  background = false
): Promise<Response> {
  const { config } = context
  const { request, route } = cacheable
  const originHeaders = cacheableOriginHeaders(request.headers, route, config)
  const validators = stale && { etag: stale.etag, lastModified: stale.lastModified }
  // An `rfc9111` route forwards the credential: the key holds its digest, never the value itself.
  const credential = cacheable.authorised ? request.headers.get('authorization') : null
  const digest = credential === null ? undefined : await credentialDigest(credential)
  const { directives } = cacheable
  // A request whose directives refuse stored copies takes none older than itself from the filler.
  const validating =
    cacheable.forced !== undefined ||
    (directives !== undefined &&
      (directives.noCache || directives.maxAge !== undefined || directives.minFresh !== undefined))
  const fillRequest: FillRequest = {
    // Requests share a fetch only if the origin would see the same request, and only if their
    // honoured directives ask the same of it (no-store: not stored; validating: no older copy).
    key: [
      cacheable.primary,
      [...originHeaders]
        .map(([name, value]) =>
          digest !== undefined && name === 'authorization'
            ? `${name}:sha-256=${digest}`
            : `${name}:${value}`
        )
        .join('\n'),
      directives?.noStore ? 'no-store' : '',
      validating ? 'validating' : '',
      validators?.etag ?? '',
      validators?.lastModified ?? '',
    ].join('\n\n'),
    primary: cacheable.primary,
    path: cacheable.path,
    query: cacheable.query,
    headers: [...request.headers],
    home: context.l2?.location.home,
    validators: validators && (validators.etag ?? validators.lastModified) ? validators : undefined,
    newerThan: validating ? cacheable.startedAt : stale?.storedAt,
    missedAt: cacheable.startedAt,
    hits:
      cacheable.popularity === undefined
        ? undefined
        : context.isolate.popularity.pending.take(cacheable.popularity),
    policy: fillPolicy(config, route),
  }
  // This isolate's view of the origin gates both paths: while its breaker is open, neither the
  // Coalescer nor the origin is asked (stale-if-error copies are served, the rest get a quick 503).
  const breaker = context.isolate.originBreaker
  if (breaker && !breaker.allow(Date.now())) {
    const open: FillResult = { kind: 'failed', reason: 'circuit-open' }
    return respondToFill(cacheable, found, stale, open, context, { leader: true, shared: false })!
  }
  // Miss-rate limits are asked before the Coalescer: once it is asked, this request may lead, and
  // the Worker learns whether it did only after the origin was reached. So every request that may
  // reach the origin takes a permit first, and one answered without its own fetch gives it back.
  const refused = await context.originGate?.admit()
  if (refused) return refused
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
      background,
    })
  if (response) {
    // A follower, or a copy the object's L2 re-check found: this request made no origin fetch.
    if (answer && answer.kind !== 'timeout' && !(answer.leader && fetchedOrigin(answer)))
      context.originGate?.release()
    return response
  }
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
    perMinute: ownRate(cacheable, fillRequest.hits, context),
  })
  return respondToFill(cacheable, found, stale, own, context, {
    leader: true,
    shared: false,
    background,
  })!
}

/**
 * The key's rate for a fill this isolate makes itself: its own estimator, fed with the requests it
 * counted since it last asked (those it just sent the Coalescer too: the two estimates are apart).
 */
function ownRate(
  cacheable: CacheRequest,
  hits: number | undefined,
  context: RequestContext
): number | undefined {
  const adaptive = cacheable.route.adaptiveTtl
  if (!adaptive || cacheable.popularity === undefined) return undefined
  const { book } = context.isolate.popularity
  return book.count(cacheable.popularity, hits ?? 1, adaptive.halfLifeSeconds, Date.now())
}

/** A leader's fill reached the origin unless the object found a new enough copy in L2. */
function fetchedOrigin(result: FillResult): boolean {
  return result.kind !== 'entry' || result.source === 'origin'
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
  stale: ReadEntry | undefined,
  result: FillResult,
  context: RequestContext,
  how: { readonly leader: boolean; readonly shared: boolean; readonly background?: boolean }
): Response | Promise<Response> | undefined {
  const { config } = context
  const fwd = forwardReason(cacheable, found, stale)
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
      // A storable 5xx is still an error to a stale copy's stale-if-error (RFC 5861 §4): the client
      // gets the stale copy, and this colo's tiers keep it rather than the error.
      if (fromOrigin && stale && entry.status >= 500) {
        const served = serveStaleOnError(
          cacheable,
          stale,
          { fwd: 'stale', fwdStatus: entry.status, collapsed },
          Date.now(),
          context
        )
        if (served) return served
      }
      // A Coalescer object's result is in L2 already (its leader wrote it once): this colo's tiers
      // are ours to fill. Our own fetch goes to every tier.
      const tiers = how.shared ? context.nearTiers : context.tiers
      context.waitUntil(
        store(cacheable, found, entry, entry.storedAt - entry.fetchMs, context, tiers)
      )
      // The leader is answered as of the origin's response, like a direct fetch.
      const now = how.leader && fromOrigin ? entry.storedAt : Date.now()
      const ttl = remainingTtl(entry, now)
      const status: CacheStatus = fromOrigin
        ? {
            fwd,
            fwdStatus: stale ? result.fwdStatus : undefined,
            stored: true,
            ttl,
            collapsed,
            popularity: result.perMinute,
          }
        : { hit: true, ttl, detail: result.source }
      return serve(cacheable, entry, status, now, context)
    }
    case 'not-modified': {
      if (!stale) return undefined
      const headers = new Headers(result.headers as Array<[string, string]>)
      const exchange: OriginExchange = {
        status: 304,
        headers,
        cacheControl: responseDirectives(headers, config.targetedCacheControl),
        requestTime: result.requestTime,
        responseTime: result.responseTime,
      }
      // A background refresh served its copy's L1 stream already: the bytes are read again.
      const validated = withBytes(stale)
      return validated instanceof Promise
        ? validated.then((bytes) =>
            serveRevalidated(
              cacheable,
              found,
              bytes,
              exchange,
              context,
              collapsed,
              result.perMinute
            )
          )
        : serveRevalidated(
            cacheable,
            found,
            validated,
            exchange,
            context,
            collapsed,
            result.perMinute
          )
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
      // Too large to store, so no copy to cut a range from: rather than stream the whole body to a
      // Range request, the origin answers it (its 206 goes to this client, never stored).
      const { request } = cacheable
      if (result.reason === 'too-large' && !how.background && request.method === 'GET') {
        if (request.headers.has('range')) {
          void result.body?.cancel().catch(() => {})
          return passThrough(request, new URL(request.url), context, fwd, 'too-large')
        }
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
      return forwardResponse(
        response,
        config.statusName,
        status,
        cacheable.request.method,
        undefined,
        config.targetedCacheControl
      )
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
  collapsed: boolean,
  /** The key's requests per minute where the revalidation was made (an `adaptiveTtl` route). */
  perMinute?: number
): Response | Promise<Response> {
  const refreshed = refreshEntry(stale, exchange, cacheable.route, context.config, perMinute)
  const merged = new Headers(refreshed.headers as Array<[string, string]>)
  // Set-Cookie is never kept in a stored copy, but a 304 that sets one still refuses sharing.
  for (const cookie of exchange.headers.getSetCookie()) merged.append('set-cookie', cookie)
  const targeted = context.config.targetedCacheControl
  const mergedCc = responseDirectives(merged, targeted)
  const refused = responseRefusesSharing(stale.status, merged, mergedCc)
  // An authorised copy stays shared only under §3.5's directives; a request's no-store keeps this
  // exchange out of the cache without retiring the copy others use.
  const stored =
    !refused &&
    (!cacheable.authorised || shareableAcrossCredentials(mergedCc, merged)) &&
    cacheable.directives?.noStore !== true
  // The request that caused the revalidation writes L2; requests collapsed onto it, their colo only.
  const tiers = collapsed ? context.nearTiers : context.tiers
  if (stored)
    context.waitUntil(store(cacheable, found, refreshed, exchange.requestTime, context, tiers))
  else if (refused && !cacheable.authorised) context.waitUntil(forget(cacheable, found, context))
  const status: CacheStatus = {
    fwd: forwardReason(cacheable, found, stale),
    fwdStatus: 304,
    stored,
    ttl: remainingTtl(refreshed, exchange.responseTime),
    collapsed,
    popularity: cacheable.route.adaptiveTtl ? perMinute : undefined,
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
  // One credential's answer may be its own (a 401, a per-user `private`): it never retires the copy
  // the authorised partition shares.
  if (cacheable.authorised) return
  const { status, headers } = exchange
  const cc = responseDirectives(headers, context.config.targetedCacheControl)
  if (responseRefusesSharing(status, headers, cc))
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
  context: RequestContext,
  tiers: TierStack = context.tiers
): Promise<void> {
  await storeFilled(tiers, {
    config: context.config,
    route: cacheable.route,
    primary: cacheable.primary,
    requestHeaders: cacheable.request.headers,
    entry,
    existingIndex: found.index,
    requestTime,
  })
}
