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
}

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
})

// directive-name [ "=" ( token / quoted-string ) ], comma separated (RFC 9111 §5.2, RFC 9110 §5.6).
const DIRECTIVE =
  /\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*(?:=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*)))?\s*(?:,|$)/y

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
  const cc: {
    -readonly [K in keyof CacheControl]: CacheControl[K]
  } = { ...EMPTY, noCacheFields: [], privateFields: [] }
  let duplicateLifetime = false
  DIRECTIVE.lastIndex = 0
  while (DIRECTIVE.lastIndex < value.length) {
    const start = DIRECTIVE.lastIndex
    const match = DIRECTIVE.exec(value)
    if (!match) {
      // Skip a malformed directive up to the next comma outside quotes instead of giving up on the rest.
      const comma = nextCommaOutsideQuotes(value, start)
      if (comma === -1) break
      DIRECTIVE.lastIndex = comma + 1
      continue
    }
    if (match[0].length === 0) break
    const name = match[1]!.toLowerCase()
    // An unterminated quoted argument (`private="x`) is read as no argument: the restrictive reading.
    const token = match[3]?.startsWith('"') ? undefined : match[3]
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
