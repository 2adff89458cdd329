import type { KeyRules } from '../config/schema'

/**
 * The cache key: normalised path + normalised query, then (for variants) the selecting request
 * headers. The host and scheme are deliberately not part of it: the origin is fixed by config.
 */

type QueryRules = Pick<KeyRules, 'ignoreQuery' | 'allowQuery'>

interface QueryMatcher {
  readonly ignore: RegExp | undefined
  readonly allow: RegExp | undefined
}

function globsToRegExp(globs: readonly string[] | undefined): RegExp | undefined {
  if (globs === undefined) return undefined
  if (globs.length === 0) return /^(?!)/
  const alternatives = globs.map((glob) =>
    glob
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')
  )
  return new RegExp(`^(?:${alternatives.join('|')})$`)
}

const compiled = new WeakMap<QueryRules, QueryMatcher>()

/** Compiles the rules' globs once per rules object (config is parsed once per isolate). */
export function compileQueryRules(rules: QueryRules): QueryMatcher {
  let matcher = compiled.get(rules)
  if (!matcher) {
    matcher = {
      ignore: rules.ignoreQuery.length ? globsToRegExp(rules.ignoreQuery) : undefined,
      allow: globsToRegExp(rules.allowQuery),
    }
    compiled.set(rules, matcher)
  }
  return matcher
}

/** `''` when nothing remains, else `?` + pairs sorted by name then value, consistently re-encoded. */
export function normalizeQuery(params: URLSearchParams, rules: QueryRules): string {
  const { ignore, allow } = compileQueryRules(rules)
  const pairs: string[] = []
  for (const [name, value] of params) {
    if (ignore?.test(name) || (allow && !allow.test(name))) continue
    pairs.push(`${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
  }
  if (pairs.length === 0) return ''
  // Sorting "name=value" strings orders by name, then value, because '=' is encoded inside both parts.
  pairs.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  return `?${pairs.join('&')}`
}

const UNRESERVED = /[A-Za-z0-9\-._~]/

/** RFC 3986 §6.2.2: decode percent-encoded unreserved characters, upper-case the hex of the others. */
export function normalizePath(pathname: string): string {
  if (!pathname.includes('%')) return pathname
  return pathname.replace(/%([0-9A-Fa-f]{2})/g, (_match, hex: string) => {
    const ch = String.fromCharCode(parseInt(hex, 16))
    return UNRESERVED.test(ch) ? ch : `%${hex.toUpperCase()}`
  })
}

export function primaryKey(url: URL, rules: QueryRules): string {
  return normalizePath(url.pathname) + normalizeQuery(url.searchParams, rules)
}

/** Absent (`\u0000`) differs from empty; whitespace runs fold to one space, none around commas. */
export function normalizeHeaderValue(value: string | null): string {
  if (value === null) return '\u0000'
  return value.trim().replace(/\s+/g, ' ').replace(/ ?, ?/g, ',')
}

/** The primary key plus `\nname:value` for each selecting header (names lower-case and sorted). */
export function variantKey(
  primary: string,
  headerNames: readonly string[],
  headers: Headers
): string {
  let key = primary
  for (const name of headerNames) key += `\n${name}:${normalizeHeaderValue(headers.get(name))}`
  return key
}

/** Length in UTF-16 code units: a cheap, conservative bound (the Cache API URL encodes it further). */
export function exceedsKeyLimit(key: string, maxKeyLength: number): boolean {
  return key.length > maxKeyLength
}
