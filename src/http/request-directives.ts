import { parseDeltaSeconds } from './cache-control'
import { currentAge } from './freshness'

/**
 * The request Cache-Control directives a shared cache acts on (RFC 9111 §5.2.1). A route honours them
 * only when it opts in (`requestDirectives`): by default a client cannot make the shared cache skip
 * its copies and load the origin. `only-if-cached` is the exception, honoured on every route: it can
 * only spare the origin a fetch.
 */
export interface RequestDirectives {
  /** `no-cache` (or `Pragma: no-cache` without Cache-Control, §5.4): validate before using a copy. */
  readonly noCache: boolean
  /** `no-store`: nothing of this exchange is stored (others' copies stay). */
  readonly noStore: boolean
  /** `max-age=N`: a copy older than N seconds is not used without validation. */
  readonly maxAge?: number
  /** `min-fresh=N`: the copy must stay fresh for N more seconds. */
  readonly minFresh?: number
  /** `max-stale[=N]`: a stale copy may be used (N seconds past its freshness; Infinity without N). */
  readonly maxStale?: number
  /** `only-if-cached`: a stored copy or 504, never the origin (§5.2.1.7). */
  readonly onlyIfCached: boolean
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

const NONE: RequestDirectives = Object.freeze({
  noCache: false,
  noStore: false,
  onlyIfCached: false,
})
const ONLY_IF_CACHED: RequestDirectives = Object.freeze({ ...NONE, onlyIfCached: true })
const PRAGMA_NO_CACHE: RequestDirectives = Object.freeze({ ...NONE, noCache: true })

// One list element: `name[=token|quoted-string]`, then a comma or the end (RFC 9111 §5.2, RFC 9110 §5.6).
const ELEMENT =
  /\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?:=(?:"((?:[^"\\]|\\.)*)"|([!#$%&'*+.^_`|~0-9A-Za-z-]*)))?\s*(?:,|$)/y

/**
 * Parses a request's Cache-Control value. Unknown directives are ignored; the first occurrence of a
 * directive wins; a malformed element is skipped (to the next comma) and means nothing. Unlike a
 * response's, a request's directives cannot widen sharing, so skipping one never leaks: at worst the
 * client gets a copy it would have refused. A `no-store` or `no-cache` token in a malformed element
 * still counts (the reading that stores and reuses less). Arguments that are not delta-seconds drop
 * their directive (`max-age=x` asks for nothing), except `max-stale`, which then allows no staleness.
 */
export function parseRequestCacheControl(value: string): RequestDirectives {
  const out: Mutable<RequestDirectives> = { ...NONE }
  const seen = new Set<string>()
  let at = 0
  while (at < value.length) {
    ELEMENT.lastIndex = at
    const match = ELEMENT.exec(value)
    if (match === null || match[0].length === 0) {
      const comma = value.indexOf(',', at)
      const part = value.slice(at, comma === -1 ? undefined : comma)
      if (/(?:^|[^\w-])no-store(?:$|[^\w-])/i.test(part)) out.noStore = true
      if (/(?:^|[^\w-])no-cache(?:$|[^\w-])/i.test(part)) out.noCache = true
      if (comma === -1) break
      at = comma + 1
      continue
    }
    at = ELEMENT.lastIndex
    const name = match[1]!.toLowerCase()
    if (seen.has(name)) continue
    seen.add(name)
    const arg = match[2] ?? match[3]
    switch (name) {
      case 'no-cache':
        out.noCache = true
        break
      case 'no-store':
        out.noStore = true
        break
      case 'only-if-cached':
        out.onlyIfCached = true
        break
      case 'max-age':
        out.maxAge = parseDeltaSeconds(arg)
        break
      case 'min-fresh':
        out.minFresh = parseDeltaSeconds(arg)
        break
      case 'max-stale':
        out.maxStale = arg === undefined || arg === '' ? Infinity : (parseDeltaSeconds(arg) ?? 0)
        break
    }
  }
  return out
}

/** `Pragma: no-cache` (RFC 9111 §5.4): the one Pragma a cache reads, and only without Cache-Control. */
function pragmaNoCache(value: string): boolean {
  return value.split(',').some((element) => element.trim().toLowerCase() === 'no-cache')
}

/**
 * The directives this request carries that its route honours, or undefined when there are none (the
 * common case costs one or two header reads). `honour` is the route's `requestDirectives`; off, only
 * `only-if-cached` is kept.
 */
export function clientDirectives(headers: Headers, honour: boolean): RequestDirectives | undefined {
  const value = headers.get('cache-control')
  if (value === null) {
    if (!honour) return undefined
    const pragma = headers.get('pragma')
    return pragma !== null && pragmaNoCache(pragma) ? PRAGMA_NO_CACHE : undefined
  }
  if (honour) return parseRequestCacheControl(value)
  // Off: browsers send `max-age=0` or `no-cache` on every reload; only a mention of only-if-cached
  // is worth parsing.
  if (!/only-if-cached/i.test(value)) return undefined
  return parseRequestCacheControl(value).onlyIfCached ? ONLY_IF_CACHED : undefined
}

/** What a stored copy needs from the fields a request's directives read. */
export interface StoredTimes {
  readonly storedAt: number
  readonly initialAgeSec: number
  readonly freshUntil: number
  /** The copy may not be served stale (must-revalidate, proxy-revalidate, no-cache, s-maxage). */
  readonly noStaleUse: boolean
}

/**
 * How the request's directives let a stored copy be used (RFC 9111 §4.2, §5.2.1):
 * - `revalidate`: not without validating it (no-cache, past max-age, not fresh enough for min-fresh);
 * - `fresh`: as a fresh copy;
 * - `max-stale`: stale, but within what the client accepts (never a copy that forbids stale use);
 * - `default`: stale, and the directives say nothing more: the route's own rules decide.
 */
export type CopyUse = 'revalidate' | 'fresh' | 'max-stale' | 'default'

export function copyUse(copy: StoredTimes, now: number, directives: RequestDirectives): CopyUse {
  if (directives.noCache) return 'revalidate'
  if (
    directives.maxAge !== undefined &&
    currentAge(copy.initialAgeSec, copy.storedAt, now) > directives.maxAge
  ) {
    return 'revalidate'
  }
  const freshFor = (copy.freshUntil - now) / 1000
  if (directives.minFresh !== undefined && freshFor > 0 && freshFor < directives.minFresh) {
    return 'revalidate'
  }
  if (freshFor > 0) return 'fresh'
  if (directives.minFresh !== undefined && directives.minFresh > 0) return 'revalidate'
  if (directives.maxStale !== undefined && !copy.noStaleUse && -freshFor <= directives.maxStale) {
    return 'max-stale'
  }
  return 'default'
}
