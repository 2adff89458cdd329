/** The Cache-Control directives a shared cache acts on (RFC 9111 §5.2, RFC 5861). */
export interface CacheControl {
  readonly maxAge?: number
  readonly sMaxAge?: number
  readonly noStore: boolean
  /** Unqualified `no-cache`: store, but revalidate before every use. */
  readonly noCache: boolean
  /** `no-cache="a, b"`: these fields must not be sent from a stored copy. */
  readonly noCacheFields: readonly string[]
  /** Unqualified `private`: a shared cache must not store the response. */
  readonly private: boolean
  /** `private="a, b"`: a shared cache must not store these fields. */
  readonly privateFields: readonly string[]
  readonly public: boolean
  readonly mustRevalidate: boolean
  readonly proxyRevalidate: boolean
  readonly staleWhileRevalidate?: number
  readonly staleIfError?: number
  readonly immutable: boolean
  /**
   * Some part of the value did not parse as `directive[=argument]` (`private max-age=0`, `no-store;`,
   * an unterminated quote). The flags above then hold the strictest reading any token allows, and a
   * shared cache must not store the response (RFC 9111 §4.2.1's "invalid" read restrictively).
   */
  readonly malformed: boolean
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

const EMPTY: CacheControl = Object.freeze({
  noStore: false,
  noCache: false,
  noCacheFields: Object.freeze([]),
  private: false,
  privateFields: Object.freeze([]),
  public: false,
  mustRevalidate: false,
  proxyRevalidate: false,
  immutable: false,
  malformed: false,
})

// directive-name [ "=" ( token / quoted-string ) ], comma separated (RFC 9111 §5.2, RFC 9110 §5.6);
// no whitespace around "=" (the grammar has none: `private ="x"` is malformed, not qualified).
const DIRECTIVE =
  /\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?:=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*)))?\s*(?:,|$)/y

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/** RFC 9111 §1.2.2: delta-seconds; invalid values are ignored, huge values clamp to 2^31. */
export function parseDeltaSeconds(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined
  const n = Number(value)
  return n > 2_147_483_648 ? 2_147_483_648 : n
}

function fieldList(value: string | undefined): string[] {
  if (!value) return []
  return value
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name.length > 0)
}

/**
 * Parses one or more Cache-Control field values. Unknown directives are ignored; when a directive
 * repeats, the first occurrence wins except that any `no-store`/`private`/`no-cache` counts (the most
 * restrictive reading, RFC 9111 §4.2.1 says duplicates make the response's freshness invalid).
 */
export function parseCacheControl(value: string | null | undefined): CacheControl {
  if (!value) return EMPTY
  const seen = new Map<string, string | true>()
  const cc: Mutable<CacheControl> = { ...EMPTY, noCacheFields: [], privateFields: [] }
  let duplicateLifetime = false
  DIRECTIVE.lastIndex = 0
  while (DIRECTIVE.lastIndex < value.length) {
    const start = DIRECTIVE.lastIndex
    const match = DIRECTIVE.exec(value)
    if (!match) {
      // Skip a malformed directive up to the next comma outside quotes, keeping the restrictive
      // meaning of every token in it: a name lost to bad syntax must not make a response shareable.
      const comma = nextCommaOutsideQuotes(value, start)
      const part = value.slice(start, comma === -1 ? undefined : comma)
      // Empty list elements are allowed (RFC 9110 §5.6.1.2): `max-age=60,` is clean.
      if (part.trim() !== '') {
        cc.malformed = true
        restrictiveTokens(cc, part)
      }
      if (comma === -1) break
      DIRECTIVE.lastIndex = comma + 1
      continue
    }
    if (match[0].length === 0) break
    const name = match[1]!.toLowerCase()
    // An unterminated quoted argument (`private="x`) is read as no argument: the restrictive reading.
    const unterminated = match[3]?.includes('"') === true
    if (match[3] !== undefined && !TOKEN.test(match[3])) {
      // `max-age=60;no-store`: the argument swallowed a directive; it counts, restrictively.
      cc.malformed = true
      restrictiveTokens(cc, match[3])
    }
    const token = unterminated ? undefined : match[3]
    const arg = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : token || undefined
    if (seen.has(name)) {
      if (name === 'max-age' || name === 's-maxage') duplicateLifetime = true
    } else {
      seen.set(name, arg ?? true)
    }
    switch (name) {
      case 'no-store':
        cc.noStore = true
        break
      case 'no-cache':
        if (arg === undefined) cc.noCache = true
        else cc.noCacheFields = [...cc.noCacheFields, ...fieldList(arg)]
        break
      case 'private':
        if (arg === undefined) cc.private = true
        else cc.privateFields = [...cc.privateFields, ...fieldList(arg)]
        break
      case 'public':
        cc.public = true
        break
      case 'must-revalidate':
        cc.mustRevalidate = true
        break
      case 'proxy-revalidate':
        cc.proxyRevalidate = true
        break
      case 'immutable':
        cc.immutable = true
        break
      case 'max-age':
        if (cc.maxAge === undefined) setNumber(cc, 'maxAge', arg)
        break
      case 's-maxage':
        if (cc.sMaxAge === undefined) setNumber(cc, 'sMaxAge', arg)
        break
      case 'stale-while-revalidate':
        if (cc.staleWhileRevalidate === undefined) setNumber(cc, 'staleWhileRevalidate', arg)
        break
      case 'stale-if-error':
        if (cc.staleIfError === undefined) setNumber(cc, 'staleIfError', arg)
        break
    }
  }
  // Conflicting lifetimes: treat the response as stale on arrival (RFC 9111 §4.2.1).
  if (duplicateLifetime) {
    if (cc.maxAge !== undefined) cc.maxAge = 0
    if (cc.sMaxAge !== undefined) cc.sMaxAge = 0
  }
  return cc
}

const RESTRICTIVE_TOKEN =
  /(?:^|[^!#$%&'*+.^_`|~0-9A-Za-z-])(no-store|private|no-cache)(?=$|[^!#$%&'*+.^_`|~0-9A-Za-z-])/gi

/** Every `no-store`, `private` or `no-cache` token in a malformed part counts, unqualified. */
function restrictiveTokens(
  cc: { noStore: boolean; private: boolean; noCache: boolean },
  part: string
): void {
  for (const [, token] of part.matchAll(RESTRICTIVE_TOKEN)) {
    const name = token!.toLowerCase()
    if (name === 'no-store') cc.noStore = true
    else if (name === 'private') cc.private = true
    else cc.noCache = true
  }
}

/**
 * The directives that decide whether and how long this cache may keep a response: `Cache-Control`,
 * with `Pragma: no-cache` standing in when there is none (RFC 9111 §5.4), and the restrictive
 * directives (`no-store`, `private`, `no-cache`) of the CDN-targeted fields (`Surrogate-Control`,
 * RFC 9213 `CDN-Cache-Control`) added on top. Any of them malformed makes the whole reading malformed.
 */
export function responseDirectives(headers: Headers): CacheControl {
  const cacheControl = headers.get('cache-control')
  const cc = parseCacheControl(cacheControl)
  const extra: CacheControl[] = []
  if (cacheControl === null) {
    const pragma = headers.get('pragma')
    if (pragma !== null) extra.push(parseCacheControl(pragma))
  }
  for (const name of TARGETED_FIELDS) {
    const value = headers.get(name)
    if (value !== null) extra.push(parseCacheControl(value))
  }
  if (extra.length === 0) return cc
  const merged: Mutable<CacheControl> = { ...cc }
  for (const other of extra) {
    merged.noStore ||= other.noStore
    merged.private ||= other.private
    merged.noCache ||= other.noCache
    merged.malformed ||= other.malformed
  }
  return merged
}

const TARGETED_FIELDS = ['surrogate-control', 'cdn-cache-control', 'cloudflare-cdn-cache-control']

function nextCommaOutsideQuotes(value: string, from: number): number {
  let quoted = false
  for (let i = from; i < value.length; i++) {
    const ch = value[i]
    if (ch === '\\' && quoted) i++
    else if (ch === '"') quoted = !quoted
    else if (ch === ',' && !quoted) return i
  }
  return -1
}

function setNumber(
  cc: { maxAge?: number; sMaxAge?: number; staleWhileRevalidate?: number; staleIfError?: number },
  field: 'maxAge' | 'sMaxAge' | 'staleWhileRevalidate' | 'staleIfError',
  arg: string | undefined
): void {
  const n = parseDeltaSeconds(arg)
  // An invalid max-age/s-maxage makes the response stale (RFC 9111 §4.2.1); invalid RFC 5861 values are ignored.
  if (n !== undefined) cc[field] = n
  else if (field === 'maxAge' || field === 'sMaxAge') cc[field] = 0
}
