import { normalizePath } from '../cache/cache-key'
import { BoundedMemo } from '../lib/bounded-memo'

/**
 * The one spelling of a request path that routes, rate-limit rules, the cache key and the origin
 * request all use: RFC 3986 §6.2.2 normalised (percent-encoded unreserved characters
 * decoded, other escapes upper-cased; the URL parser already removed dot segments, `%2e` ones too).
 */
export interface RequestPath {
  readonly path: string
  /**
   * The path names a resource some origins would read as another path: an encoded separator (`%2F`,
   * `%5C`), a `;param` segment parameter or an empty segment (`//`). Such a request is never cached
   * (its key could sit under one route while the origin serves another's resource).
   */
  readonly ambiguous: boolean
  /**
   * Every spelling a rate-limit rule is matched against: the path, the path as a lenient origin
   * would read it (separators decoded, parameters dropped, slashes collapsed), and that in lower
   * case and without a trailing slash. A rule counts a request if any spelling matches: evading a
   * rule by spelling is impossible, and counting too much is the safe side.
   */
  readonly ruleSpellings: readonly string[]
}

const AMBIGUOUS = /%2F|%5C|;|\/\//i

/**
 * Paths worked out lately, shared by the requests that spell them the same way (a hot path is
 * worked out once per isolate): 1024 paths of at most 512 characters. The value is pure in the
 * pathname, and frozen, as is its spellings list.
 */
const knownPaths = new BoundedMemo<RequestPath>(1024, 512)

export function requestPath(pathname: string): RequestPath {
  return knownPaths.get(pathname) ?? knownPaths.remember(pathname, workedOut(pathname))
}

function workedOut(pathname: string): RequestPath {
  const path = normalizePath(pathname)
  const ambiguous = AMBIGUOUS.test(path)
  let spellings: readonly string[] | undefined
  return Object.freeze({
    path,
    ambiguous,
    // Only requests that meet rate-limit rules need these: worked out on first use.
    get ruleSpellings() {
      return (spellings ??= Object.freeze(ruleSpellingsOf(path, ambiguous)))
    },
  })
}

function ruleSpellingsOf(path: string, ambiguous: boolean): readonly string[] {
  // The common case, read only one way: skips the Set and the regular expressions.
  if (!ambiguous && (path.length === 1 || !path.endsWith('/')) && path === path.toLowerCase()) {
    return [path]
  }
  const lenient = ambiguous ? lenientReading(path) : path
  const spellings = new Set([path, lenient, lenient.toLowerCase()])
  for (const spelling of [...spellings]) {
    if (spelling.length > 1 && spelling.endsWith('/')) spellings.add(spelling.slice(0, -1))
  }
  return [...spellings]
}

/** The path as the most lenient origin would route it. */
function lenientReading(path: string): string {
  return path
    .replace(/%2F|%5C/gi, '/')
    .replace(/;[^/]*/g, '')
    .replace(/\/{2,}/g, '/')
}
