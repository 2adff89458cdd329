import { parseDictionary, type BareItem, type Dictionary } from './structured-fields'

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
  /**
   * The RFC 9213 targeted field these directives came from (`cdn-cache-control`...), in place of
   * Cache-Control, Expires and Pragma; undefined when they came from Cache-Control.
   */
  readonly targeted?: string
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
 * The directives that decide whether and how long this cache may keep a response. RFC 9213 §2.2: the
 * first field of `targeted` (this cache's target list, in precedence order) that is present, non-empty
 * and a valid Dictionary replaces Cache-Control, Expires and Pragma; without one, `Cache-Control`
 * applies, with `Pragma: no-cache` standing in when there is none (RFC 9111 §5.4). The restrictive
 * directives (`no-store`, `private`, `no-cache`) of `Surrogate-Control` are added on top either way,
 * and a malformed Surrogate-Control makes the whole reading malformed.
 */
export function responseDirectives(headers: Headers, targeted: readonly string[]): CacheControl {
  const selected = selectTargetedField(headers, targeted)
  let cc: CacheControl
  if (selected !== undefined) {
    cc = directivesFromDictionary(selected.name, selected.dictionary)
  } else {
    const cacheControl = headers.get('cache-control')
    cc = parseCacheControl(cacheControl)
    if (cacheControl === null) {
      const pragma = headers.get('pragma')
      if (pragma !== null) cc = withRestrictive(cc, parseCacheControl(pragma))
    }
  }
  const surrogate = headers.get('surrogate-control')
  return surrogate === null ? cc : withRestrictive(cc, parseCacheControl(surrogate))
}

function withRestrictive(cc: CacheControl, other: CacheControl): CacheControl {
  const merged: Mutable<CacheControl> = { ...cc }
  merged.noStore ||= other.noStore
  merged.private ||= other.private
  merged.noCache ||= other.noCache
  merged.malformed ||= other.malformed
  return merged
}

/**
 * RFC 9213 §2.2: the first field of the target list with a valid, non-empty value. An empty field or
 * one that fails to parse as a Dictionary (§2.1) is ignored as if absent: the next one is tried.
 */
export function selectTargetedField(
  headers: Headers,
  targeted: readonly string[]
): { readonly name: string; readonly dictionary: Dictionary } | undefined {
  for (const name of targeted) {
    const value = headers.get(name)
    if (value === null) continue
    const dictionary = parseDictionary(value)
    if (dictionary !== undefined && dictionary.size > 0) return { name, dictionary }
  }
  return undefined
}

/**
 * The targeted field this cache consumes from `headers`, if any: it is not passed on to clients.
 * Cheap when none of the listed fields is present (the usual hit), which is checked first.
 */
export function consumedTargetedField(
  headers: Headers,
  targeted: readonly string[]
): string | undefined {
  for (const name of targeted) {
    if (headers.has(name)) return selectTargetedField(headers, targeted)?.name
  }
  return undefined
}

/** Largest delta-seconds kept (RFC 9111 §1.2.2). */
const MAX_DELTA = 2_147_483_648

/**
 * A targeted field's members as cache directives (RFC 9213 §2.1). Parameters are ignored. A value
 * that breaks its directive's type is not consumed as that value (§2.1 "SHOULD NOT consume"); it
 * takes the reading Cache-Control gives an invalid argument: a non-Integer (or negative) `max-age` or
 * `s-maxage` makes the response stale (RFC 9111 §4.2.1), a bad RFC 5861 window is ignored, `private`
 * and `no-cache` without a String of field names are unqualified, and the other restrictive
 * directives count whatever their value; `public` and `immutable` count only as Boolean true.
 * A repeated key has already taken its last value (RFC 8941 §4.2.2).
 */
function directivesFromDictionary(name: string, dictionary: Dictionary): CacheControl {
  const cc: Mutable<CacheControl> = {
    ...EMPTY,
    noCacheFields: [],
    privateFields: [],
    targeted: name,
  }
  for (const [key, member] of dictionary) {
    const value = member.kind === 'item' ? member.value : undefined
    switch (key) {
      case 'no-store':
        cc.noStore = true
        break
      case 'must-revalidate':
        cc.mustRevalidate = true
        break
      case 'proxy-revalidate':
        cc.proxyRevalidate = true
        break
      case 'public':
        cc.public = value?.type === 'boolean' && value.value
        break
      case 'immutable':
        cc.immutable = value?.type === 'boolean' && value.value
        break
      case 'private': {
        const fields = fieldNames(value)
        cc.private = fields === undefined
        cc.privateFields = fields ?? []
        break
      }
      case 'no-cache': {
        const fields = fieldNames(value)
        cc.noCache = fields === undefined
        cc.noCacheFields = fields ?? []
        break
      }
      case 'max-age':
        cc.maxAge = deltaSeconds(value) ?? 0
        break
      case 's-maxage':
        cc.sMaxAge = deltaSeconds(value) ?? 0
        break
      case 'stale-while-revalidate':
        cc.staleWhileRevalidate = deltaSeconds(value)
        break
      case 'stale-if-error':
        cc.staleIfError = deltaSeconds(value)
        break
    }
  }
  return cc
}

function deltaSeconds(value: BareItem | undefined): number | undefined {
  if (value?.type !== 'integer' || value.value < 0) return undefined
  return Math.min(value.value, MAX_DELTA)
}

/** `private="a, b"`: the String's field names; undefined (the unqualified reading) for anything else. */
function fieldNames(value: BareItem | undefined): string[] | undefined {
  if (value?.type !== 'string') return undefined
  const names = value.value.split(',').map((part) => part.trim())
  if (!names.every((part) => TOKEN.test(part))) return undefined
  return names.map((part) => part.toLowerCase())
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
