import { base64ToBytes, bytesToBase64 } from '../l2/base64'
import { matchRoute, type CompiledRoute } from '../config/route-matcher'
import { readBodyWithLimit } from '../http/read-body'
import { log } from '../lib/log'
import { fetchOrigin, originUrlFor } from '../origin/origin-request'
import type { Isolate } from '../runtime/isolate'
import type { RequestContext } from '../runtime/request-context'
import { BloomFilter } from './bloom'

/** A route's membership settings (`routes[].membership`). */
type MembershipSettings = NonNullable<CompiledRoute['membership']>

/** The id list's body, at most: 32 MiB holds a few million short ids. */
const MAX_SOURCE_BYTES = 32 * 1024 * 1024
/** A load that has not finished after this is taken as lost: the next request starts another. */
const LOAD_DEADLINE_MS = 30_000

interface Loaded {
  readonly filter: BloomFilter
  /** When the list was read from the origin (a copy from L2 keeps the origin's time). */
  readonly loadedAt: number
}

interface RouteState {
  loaded?: Loaded
  loadingSince?: number
  /** After a failed load, the next one waits until then: a failing list is not asked per request. */
  retryAt?: number
}

/** How long a failed load waits before the next one, at most (or refreshSeconds, if shorter). */
const RETRY_AFTER_FAILURE_MS = 10_000

/** What the guard says of a request's id. */
export type MembershipVerdict = 'absent' | 'maybe' | 'open'

/**
 * Per isolate, per route: the filter it holds. Kept beside the isolate (a WeakMap on it, like the
 * isolates themselves), so a new isolate starts without one.
 */
const states = new WeakMap<Isolate, Map<string, RouteState>>()

function stateFor(isolate: Isolate, route: string): RouteState {
  let routes = states.get(isolate)
  if (routes === undefined) states.set(isolate, (routes = new Map()))
  let state = routes.get(route)
  if (state === undefined) routes.set(route, (state = {}))
  return state
}

/** The id a request names: its path's last segment (the whole of it, as normalised). */
export function requestId(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1)
}

/** Whether any route has a membership guard (worked out once per routes list). */
const guardedLists = new WeakMap<readonly CompiledRoute[], boolean>()

function anyGuarded(routes: readonly CompiledRoute[]): boolean {
  let guarded = guardedLists.get(routes)
  if (guarded === undefined) {
    guarded = routes.some((route) => route.membership !== undefined && !route.bypass)
    guardedLists.set(routes, guarded)
  }
  return guarded
}

/**
 * The guard over every spelling of the path a lenient origin might read (request-path.ts's
 * `ruleSpellings`: separators decoded, `;params` dropped, lower case, no trailing slash), so neither
 * `/products/404/` nor `/PRODUCTS/404` nor `/products/404;x` walks an absent id past it: `absent`
 * when at least one spelling falls under a guarded route with an id, and every such spelling names
 * an id its list certainly lacks. A spelling whose id is listed (or whose list is not usable) lets
 * the request pass: a valid id is never refused for another reading of it.
 */
export function penetrationVerdict(
  context: RequestContext,
  routes: readonly CompiledRoute[],
  spellings: readonly string[]
): MembershipVerdict {
  if (!anyGuarded(routes)) return 'open'
  let absent = false
  for (const spelling of spellings) {
    const route = matchRoute(routes, spelling)
    if (route === undefined || route.bypass || route.membership === undefined) continue
    if (requestId(spelling) === '') continue
    const verdict = membershipVerdict(context, route, spelling)
    if (verdict !== 'absent') return verdict
    absent = true
  }
  return absent ? 'absent' : 'open'
}

/**
 * The penetration guard's verdict: `absent` when the route's id list certainly lacks the request's
 * id (the edge answers 404), `maybe` when it may hold it, `open` when there is no usable list (not
 * loaded yet, failed, or older than twice `refreshSeconds`): requests pass. A list older than
 * `refreshSeconds` is still used while a new one loads in the background (an id created at the
 * origin meanwhile is refused until then).
 */
export function membershipVerdict(
  context: RequestContext,
  route: CompiledRoute,
  path: string
): MembershipVerdict {
  const settings = route.membership
  if (settings === undefined) return 'open'
  const id = requestId(path)
  if (id === '') return 'open'
  const state = stateFor(context.isolate, route.pattern)
  const now = Date.now()
  const refreshMs = settings.refreshSeconds * 1000
  const age = state.loaded === undefined ? Number.POSITIVE_INFINITY : now - state.loaded.loadedAt
  const loading = state.loadingSince !== undefined && now - state.loadingSince < LOAD_DEADLINE_MS
  if (age >= refreshMs && !loading && now >= (state.retryAt ?? 0)) {
    state.loadingSince = now
    context.waitUntil(
      loadList(context, route.pattern, settings, refreshMs)
        .then((loaded) => {
          if (loaded.loadedAt > (state.loaded?.loadedAt ?? 0)) state.loaded = loaded
          state.retryAt = undefined
        })
        .catch((error: unknown) => {
          state.retryAt = Date.now() + Math.min(refreshMs, RETRY_AFTER_FAILURE_MS)
          log.warn('membership_load_failed', { route: route.pattern, error: String(error) })
        })
        .finally(() => (state.loadingSince = undefined))
    )
  }
  if (state.loaded === undefined || age >= 2 * refreshMs) return 'open'
  return state.loaded.filter.mightContain(id) ? 'maybe' : 'absent'
}

/** The L2 key of a route's filter. */
function filterKey(keyPrefix: string, pattern: string): string {
  return `${keyPrefix}bf:${pattern}`
}

/** The route's filter: a fresh enough copy from L2 (home region), else built from the origin's list. */
async function loadList(
  context: RequestContext,
  pattern: string,
  settings: MembershipSettings,
  refreshMs: number
): Promise<Loaded> {
  const l2 = context.l2
  const keyPrefix = context.config.l2?.keyPrefix
  if (l2 !== undefined && keyPrefix !== undefined) {
    const { home } = l2.location
    try {
      const stored = await l2.regional.run(home, home, 'membership', (redis) =>
        redis.get<string>(filterKey(keyPrefix, pattern))
      )
      if (typeof stored === 'string') {
        const bytes = base64ToBytes(stored)
        const loadedAt = Number(new DataView(bytes.buffer, bytes.byteOffset).getFloat64(0))
        if (Date.now() - loadedAt < refreshMs)
          return { loadedAt, filter: BloomFilter.fromBytes(bytes.subarray(8)) }
      }
    } catch (error) {
      // A missing, unreadable or foreign copy: read the origin's list.
      log.warn('membership_l2_read_failed', { route: pattern, error: String(error) })
    }
  }
  const loaded = await fromOrigin(context, settings)
  if (l2 !== undefined && keyPrefix !== undefined) {
    const { home } = l2.location
    const filter = loaded.filter.toBytes()
    const bytes = new Uint8Array(8 + filter.byteLength)
    new DataView(bytes.buffer).setFloat64(0, loaded.loadedAt)
    bytes.set(filter, 8)
    await l2.regional
      .run(home, home, 'membership', (redis) =>
        redis.set(filterKey(keyPrefix, pattern), bytesToBase64(bytes), { px: 2 * refreshMs })
      )
      .catch(() => undefined)
  }
  return loaded
}

/** Reads the origin's id list and builds its filter; a list too long or malformed is refused. */
async function fromOrigin(context: RequestContext, settings: MembershipSettings): Promise<Loaded> {
  const { config } = context
  const [path = '/', query] = settings.source.split(/\?(.*)/s, 2)
  const url = originUrlFor(config, path, query === undefined ? '' : `?${query}`)
  const loadedAt = Date.now()
  const { response } = await fetchOrigin(
    url,
    { method: 'GET', headers: new Headers({ accept: 'application/json' }) },
    config.origin.timeoutMs
  )
  if (response.status !== 200) {
    await response.body?.cancel()
    throw new Error(`the id list answered ${response.status}`)
  }
  const body = await readBodyWithLimit(response, MAX_SOURCE_BYTES)
  if (!body.complete) {
    await body.stream?.cancel()
    throw new Error(`the id list is over ${MAX_SOURCE_BYTES} bytes`)
  }
  const parsed: unknown = JSON.parse(new TextDecoder().decode(body.bytes))
  const list = Array.isArray(parsed)
    ? parsed
    : ((parsed as { ids?: unknown } | null)?.ids ?? undefined)
  if (!Array.isArray(list)) throw new Error('the id list is not an array (nor {"ids": [...]})')
  if (list.length > settings.maxIds)
    throw new Error(`the id list has ${list.length} ids, over maxIds ${settings.maxIds}`)
  const ids = list.map((value) => {
    if (typeof value === 'string') return value
    if (typeof value === 'number' && Number.isFinite(value)) return String(value)
    throw new Error('an id is neither a string nor a finite number')
  })
  return { loadedAt, filter: BloomFilter.of(ids, ids.length, settings.falsePositiveRate) }
}
