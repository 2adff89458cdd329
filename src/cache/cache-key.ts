import type { KeyRules } from '../config/schema'
import { BoundedMemo } from '../lib/bounded-memo'
import { canonicalAcceptEncoding, canonicalAcceptLanguage } from '../http/accept'

/*
 * The cache key: normalised path + normalised query (the primary key), then for a variant the values of
 * the selecting request headers. The host and scheme are deliberately not part of it: the origin is fixed
 * by config, so every host the Worker answers on shares one cache.
 */

export type QueryRules = Pick<KeyRules, 'ignoreQuery' | 'allowQuery'>

/** The compiled form of a route's query rules. */
export interface QueryMatcher {
  /** Whether the (decoded) parameter name stays in the key and in the origin request. */
  keeps(name: string): boolean
}

/** A glob list as a predicate: `*` matches any run of characters (empty included); names are case-sensitive. */
function compileGlobs(globs: readonly string[]): (name: string) => boolean {
  const exact = new Set<string>()
  const patterns: string[] = []
  for (const glob of globs) {
    if (!glob.includes('*')) {
      exact.add(glob)
      continue
    }
    patterns.push(
      glob
        .split('*')
        .map((part) => part.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&'))
        .join('[\\s\\S]*')
    )
  }
  if (patterns.length === 0) return (name) => exact.has(name)
  const regex = new RegExp(`^(?:${patterns.join('|')})$`)
  return (name) => exact.has(name) || regex.test(name)
}

const KEEP_ALL: QueryMatcher = { keeps: () => true }
const compiled = new WeakMap<QueryRules, QueryMatcher>()

/**
 * Compiles the rules' globs once per rules object: callers pass the route's rules on every request and
 * the work is done on the first.
 */
export function compileQueryRules(rules: QueryRules): QueryMatcher {
  let matcher = compiled.get(rules)
  if (matcher === undefined) {
    const ignored = rules.ignoreQuery.length > 0 ? compileGlobs(rules.ignoreQuery) : undefined
    const allowed = rules.allowQuery === undefined ? undefined : compileGlobs(rules.allowQuery)
    if (ignored === undefined && allowed === undefined) matcher = KEEP_ALL
    else if (allowed === undefined) matcher = { keeps: (name) => !ignored!(name) }
    else if (ignored === undefined) matcher = { keeps: allowed }
    else matcher = { keeps: (name) => allowed(name) && !ignored(name) }
    compiled.set(rules, matcher)
  }
  return matcher
}

/**
 * `''` when no parameter remains, else `?` + `name=value` pairs sorted by name then value. Names and
 * values are decoded by URLSearchParams (`+` is a space) and re-encoded with encodeURIComponent, so
 * `a=%7E`, `a=~` and `a=%7e` give one key, and `a` equals `a=`. The encoded strings are ASCII, so `<` is
 * byte order. URLSearchParams yields well-formed strings, so encodeURIComponent cannot throw here.
 */
export function normalizeQuery(params: URLSearchParams, rules: QueryRules): string {
  return normalizeQueryOf(params, compileQueryRules(rules))
}

/**
 * Normalised queries by raw query string, per rules object (a hot URL's query is worked out once):
 * 1024 queries of at most 1 KiB each.
 */
const knownQueries = new WeakMap<QueryRules, BoundedMemo<string>>()

/**
 * normalizeQuery of `url`'s query, remembered by its raw text (`url.search`, which alone decides the
 * result for given rules): a hit skips URLSearchParams and the re-encoding.
 */
export function normalizedQueryOf(url: URL, rules: QueryRules): string {
  const search = url.search
  if (search === '') return ''
  let known = knownQueries.get(rules)
  if (known === undefined) knownQueries.set(rules, (known = new BoundedMemo(1024, 1024)))
  return known.get(search) ?? known.remember(search, normalizeQuery(url.searchParams, rules))
}

function normalizeQueryOf(params: URLSearchParams, matcher: QueryMatcher): string {
  const pairs: [string, string][] = []
  for (const [name, value] of params) {
    if (matcher.keeps(name)) pairs.push([encodeURIComponent(name), encodeURIComponent(value)])
  }
  if (pairs.length === 0) return ''
  if (pairs.length > 1) {
    pairs.sort(([an, av], [bn, bv]) =>
      an < bn ? -1 : an > bn ? 1 : av < bv ? -1 : av > bv ? 1 : 0
    )
  }
  let query = '?'
  for (let i = 0; i < pairs.length; i++) {
    const [name, value] = pairs[i]!
    query += i === 0 ? `${name}=${value}` : `&${name}=${value}`
  }
  return query
}

const PERCENT_ESCAPE = /%([0-9A-Fa-f]{2})/g

function isUnreserved(code: number): boolean {
  return (
    (code >= 0x41 && code <= 0x5a) || // A-Z
    (code >= 0x61 && code <= 0x7a) || // a-z
    (code >= 0x30 && code <= 0x39) || // 0-9
    code === 0x2d || // -
    code === 0x2e || // .
    code === 0x5f || // _
    code === 0x7e // ~
  )
}

/**
 * RFC 3986 §6.2.2.1/§6.2.2.2: percent-encoded unreserved characters are decoded, the hex of every other
 * escape is upper-cased (`%2f` → `%2F`, `%7E` → `~`); malformed escapes (`%zz`) are kept as they are.
 * Dot segments are already gone (the URL parser removes them).
 */
export function normalizePath(pathname: string): string {
  if (!pathname.includes('%')) return pathname
  return pathname.replace(PERCENT_ESCAPE, (escape, hex: string) => {
    const code = parseInt(hex, 16)
    if (isUnreserved(code)) return String.fromCharCode(code)
    const upper = hex.toUpperCase()
    return upper === hex ? escape : `%${upper}`
  })
}

export function primaryKey(url: URL, rules: QueryRules): string {
  return normalizePath(url.pathname) + normalizedQueryOf(url, rules)
}

/** Stands for a missing header: header values cannot contain NUL, so absent never equals any value. */
const ABSENT = '\u0000'

/**
 * A request header value as it selects a variant: absent is `\u0000` (absent differs from empty);
 * otherwise HTTP whitespace (SP, HTAB) is trimmed, runs of it fold to one space, and none is kept around
 * commas (`gzip , br` equals `gzip,br`).
 */
export function normalizeHeaderValue(value: string | null): string {
  if (value === null) return ABSENT
  return value
    .replace(/^[ \t]+|[ \t]+$/g, '')
    .replace(/[ \t]+/g, ' ')
    .replace(/ ?, ?/g, ',')
}

/**
 * A selecting header's value as it goes into a variant key (RFC 9111 §4.1): repeated fields are
 * combined in order (`Headers.get` joins them with `, `), whitespace is normalised as above, and the
 * fields whose semantics allow it are canonicalised further: Accept-Encoding to the set of known
 * codings it accepts, Accept-Language with case and member order ignored (src/http/accept.ts).
 * Idempotent: a canonical value is its own canonical form.
 */
export function selectingValue(name: string, value: string | null): string {
  const normalized = normalizeHeaderValue(value)
  if (value === null) return normalized
  if (name === 'accept-encoding') return canonicalAcceptEncoding(normalized)
  if (name === 'accept-language') return canonicalAcceptLanguage(normalized)
  return normalized
}

/**
 * The primary key plus `\nname:value` per selecting header, in the order given (the VaryIndex keeps
 * names lower-case and sorted). Neither a primary key nor a header value can hold `\n`, so keys of
 * different header sets never collide.
 */
export function variantKey(
  primary: string,
  headerNames: readonly string[],
  headers: Headers
): string {
  let key = primary
  for (const name of headerNames) key += `\n${name}:${selectingValue(name, headers.get(name))}`
  return key
}

/**
 * Length in UTF-16 code units. Keys are ASCII except for header values, so this is close to the byte
 * length; tiers that encode the key further (the Cache API URL) grow it by a bounded factor.
 */
export function exceedsKeyLimit(key: string, maxKeyLength: number): boolean {
  return key.length > maxKeyLength
}
