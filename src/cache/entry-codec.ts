import { EdgeCacheError } from '../lib/errors'
import type { CacheEntry, EntryHead, StoredRecord, VaryIndex } from './entry'

/*
 * Binary format of a StoredRecord, shared by every tier (L1 Cache API body, L2 Redis value).
 * All numbers are big-endian. `str` is a u32 byte length followed by that many bytes of UTF-8.
 *
 *   offset  size  field
 *   0       2     magic 0x45 0x43 ("EC")
 *   2       1     format version (u8) = 2 (version 1 is still read: see below)
 *   3       1     kind (u8): 0 = response (CacheEntry), 1 = vary-index (VaryIndex),
 *                 2 = response head (version 2 only: a response without its body bytes, see below)
 *
 * kind 0, response:
 *   u8    flags: bit 0 mustRevalidate, bit 1 etag present, bit 2 lastModified present (others must be 0)
 *   u16   status
 *   f64   storedAt                    (epoch ms)
 *   f64   freshUntil                  (epoch ms)
 *   f64   staleWhileRevalidateUntil   (epoch ms)
 *   f64   staleIfErrorUntil           (epoch ms)
 *   u32   initialAgeSec
 *   u32   fetchMs
 *   str   etag            (only if flag bit 1)
 *   str   lastModified    (only if flag bit 2)
 *   u32   header count, then per header: str name, str value (names as stored, order kept)
 *   u32   tag count, then per tag: str
 *   u32   body length, then the body bytes; the body is last and nothing may follow it
 *
 * kind 1, vary-index:
 *   u32   header name count, then per name: str
 *   f64   createdAt   (epoch ms)
 *   f64   expiresAt   (epoch ms)
 *   u32   variant count, then per variant: str (its key after the primary key, least recently stored
 *         first; version 2 only: a version 1 index ends at expiresAt and decodes with no variants)
 *
 * kind 2, response head: the kind 0 layout up to and including the body length, without the body
 *   bytes (nothing follows the length). L1 keeps it beside the body, which the Cache API holds as its
 *   own (l1-cache-api.ts): encodeHead / decodeHead. decodeRecord refuses it and decodeHead refuses a
 *   kind 0 record, so a head is never read as an empty response nor a response as a head.
 *
 * The response layout is the same in versions 1 and 2.
 *
 * initialAgeSec and fetchMs are clamped on encode: rounded down (Math.floor, as RFC 9111 ages are whole
 * seconds and freshness.ts floors too), NaN and negatives become 0, values above 2^32-1 (or +Infinity)
 * become 2^32-1. The status must be an integer in 200..599, every timestamp finite, the body at most
 * 2^32-1 bytes and an index at most MAX_VARIANTS variants, each starting with `\n`, or encoding throws.
 *
 * Decoding checks values as well as structure, so that a record read from a tier (written by another
 * build, corrupted, or forged by whoever can write to the store) can always be served without throwing:
 * a status in 200..599 (what `new Response` accepts), header names that are RFC 9110 tokens, header
 * values without NUL, CR or LF (what `new Headers` refuses), finite timestamps, validators without
 * control characters but HTAB, tags without any, vary-index names that are tokens, and variants that
 * start with `\n` (so they can only name keys under their own primary key). Anything else throws
 * EntryCodecError, which the tiers turn into a miss and a delete.
 *
 * A change to this layout needs a new version number: records of an unknown version are rejected (the
 * tiers treat them as misses), never misread.
 */

const MAGIC_0 = 0x45
const MAGIC_1 = 0x43
const VERSION = 2
/** The first version, still read: its vary-index has no variant list. */
const VERSION_1 = 1
const KIND_RESPONSE = 0
const KIND_VARY_INDEX = 1
const KIND_RESPONSE_HEAD = 2

const FLAG_MUST_REVALIDATE = 0b001
const FLAG_ETAG = 0b010
const FLAG_LAST_MODIFIED = 0b100
const KNOWN_FLAGS = FLAG_MUST_REVALIDATE | FLAG_ETAG | FLAG_LAST_MODIFIED

const U32_MAX = 0xffff_ffff
const PREAMBLE = 4
/** flags + status + 4 timestamps + initialAgeSec + fetchMs + header count + tag count + body length. */
const RESPONSE_FIXED = 1 + 2 + 4 * 8 + 4 + 4 + 4 + 4 + 4
/** name count + createdAt + expiresAt + variant count. */
const VARY_FIXED = 4 + 8 + 8 + 4

/** Most variants an index may list: the highest `limits.maxVariantsPerKey` the config accepts. */
export const MAX_VARIANTS = 1024

/** RFC 9110 §5.6.2: a field name is a token, 1*tchar. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

const encoder = new TextEncoder()
// ignoreBOM keeps a leading U+FEFF in the decoded string, so strings round-trip exactly.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

export class EntryCodecError extends EdgeCacheError {
  static readonly code = 'E_ENTRY_CODEC'

  constructor(message: string, options?: ErrorOptions) {
    super(EntryCodecError.code, message, options)
    this.name = 'EntryCodecError'
  }
}

/** UTF-8 length of a string as TextEncoder writes it (a lone surrogate becomes U+FFFD, 3 bytes). */
function utf8Length(value: string): number {
  let bytes = value.length
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i)
    if (code < 0x80) continue
    if (code < 0x800) {
      bytes += 1
    } else if (code >= 0xd800 && code <= 0xdbff && i + 1 < value.length) {
      const next = value.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) {
        // A surrogate pair: two code units, four bytes.
        bytes += 2
        i++
      } else {
        bytes += 2
      }
    } else {
      bytes += 2
    }
  }
  return bytes
}

function clampU32(value: number): number {
  if (!(value > 0)) return 0
  return value >= U32_MAX ? U32_MAX : Math.floor(value)
}

/** What `new Response` accepts. */
function isValidStatus(status: number): boolean {
  return Number.isInteger(status) && status >= 200 && status <= 599
}

/** Fetch refuses a header value holding NUL, CR or LF (`new Headers` throws a TypeError). */
function isFieldValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i)
    if (code === 0x00 || code === 0x0a || code === 0x0d) return false
  }
  return true
}

/** No C0 control character nor DEL; HTAB only when `tab` (it may occur inside a field value). */
function isPrintable(value: string, tab: boolean): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i)
    if ((code < 0x20 && !(tab && code === 0x09)) || code === 0x7f) return false
  }
  return true
}

/** A variant is its key after the primary key: `\nname:value`... (see variantKey). */
function isVariantSuffix(value: string): boolean {
  return value.charCodeAt(0) === 0x0a
}

/** A bounded, quoted excerpt of a refused value for an error message. */
function quote(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}...` : value)
}

function checkTime(value: number, what: string): number {
  if (!Number.isFinite(value)) throw new EntryCodecError(`${what} ${value} is not a finite time`)
  return value
}

class Writer {
  readonly bytes: Uint8Array
  private readonly view: DataView
  private pos = 0

  constructor(size: number) {
    this.bytes = new Uint8Array(size)
    this.view = new DataView(this.bytes.buffer)
  }

  u8(value: number): void {
    this.view.setUint8(this.pos, value)
    this.pos += 1
  }

  u16(value: number): void {
    this.view.setUint16(this.pos, value)
    this.pos += 2
  }

  u32(value: number): void {
    this.view.setUint32(this.pos, value)
    this.pos += 4
  }

  f64(value: number): void {
    this.view.setFloat64(this.pos, value)
    this.pos += 8
  }

  str(value: string): void {
    const { written } = encoder.encodeInto(value, this.bytes.subarray(this.pos + 4))
    this.view.setUint32(this.pos, written)
    this.pos += 4 + written
  }

  raw(value: Uint8Array): void {
    this.u32(value.byteLength)
    this.bytes.set(value, this.pos)
    this.pos += value.byteLength
  }

  finish(): Uint8Array {
    if (this.pos !== this.bytes.byteLength) {
      throw new EntryCodecError(
        `internal size mismatch: wrote ${this.pos} of ${this.bytes.byteLength} bytes`
      )
    }
    return this.bytes
  }
}

/** A response record; without `body`, its head (kind 2: the same layout but the body bytes). */
function encodeResponse(entry: CacheEntry, withBody: boolean): Uint8Array {
  const { status, body } = entry
  if (!isValidStatus(status)) {
    throw new EntryCodecError(`cannot encode status ${status}: must be an integer in 200..599`)
  }
  checkTime(entry.storedAt, 'storedAt')
  checkTime(entry.freshUntil, 'freshUntil')
  checkTime(entry.staleWhileRevalidateUntil, 'staleWhileRevalidateUntil')
  checkTime(entry.staleIfErrorUntil, 'staleIfErrorUntil')
  if (body.byteLength > U32_MAX) {
    throw new EntryCodecError(`cannot encode a body of ${body.byteLength} bytes (max ${U32_MAX})`)
  }
  let size = PREAMBLE + RESPONSE_FIXED + (withBody ? body.byteLength : 0)
  let flags = entry.mustRevalidate ? FLAG_MUST_REVALIDATE : 0
  if (entry.etag !== undefined) {
    flags |= FLAG_ETAG
    size += 4 + utf8Length(entry.etag)
  }
  if (entry.lastModified !== undefined) {
    flags |= FLAG_LAST_MODIFIED
    size += 4 + utf8Length(entry.lastModified)
  }
  for (const [name, value] of entry.headers) size += 8 + utf8Length(name) + utf8Length(value)
  for (const tag of entry.tags) size += 4 + utf8Length(tag)

  const w = new Writer(size)
  w.u8(MAGIC_0)
  w.u8(MAGIC_1)
  w.u8(VERSION)
  w.u8(withBody ? KIND_RESPONSE : KIND_RESPONSE_HEAD)
  w.u8(flags)
  w.u16(status)
  w.f64(entry.storedAt)
  w.f64(entry.freshUntil)
  w.f64(entry.staleWhileRevalidateUntil)
  w.f64(entry.staleIfErrorUntil)
  w.u32(clampU32(entry.initialAgeSec))
  w.u32(clampU32(entry.fetchMs))
  if (entry.etag !== undefined) w.str(entry.etag)
  if (entry.lastModified !== undefined) w.str(entry.lastModified)
  w.u32(entry.headers.length)
  for (const [name, value] of entry.headers) {
    w.str(name)
    w.str(value)
  }
  w.u32(entry.tags.length)
  for (const tag of entry.tags) w.str(tag)
  if (withBody) w.raw(body)
  else w.u32(body.byteLength)
  return w.finish()
}

function encodeVaryIndex(index: VaryIndex): Uint8Array {
  checkTime(index.createdAt, 'createdAt')
  checkTime(index.expiresAt, 'expiresAt')
  if (index.variants.length > MAX_VARIANTS) {
    throw new EntryCodecError(
      `cannot encode ${index.variants.length} variants (max ${MAX_VARIANTS})`
    )
  }
  let size = PREAMBLE + VARY_FIXED
  for (const name of index.headerNames) size += 4 + utf8Length(name)
  for (const variant of index.variants) {
    if (!isVariantSuffix(variant)) {
      throw new EntryCodecError(`cannot encode variant ${quote(variant)}: must start with \\n`)
    }
    size += 4 + utf8Length(variant)
  }
  const w = new Writer(size)
  w.u8(MAGIC_0)
  w.u8(MAGIC_1)
  w.u8(VERSION)
  w.u8(KIND_VARY_INDEX)
  w.u32(index.headerNames.length)
  for (const name of index.headerNames) w.str(name)
  w.f64(index.createdAt)
  w.f64(index.expiresAt)
  w.u32(index.variants.length)
  for (const variant of index.variants) w.str(variant)
  return w.finish()
}

export function encodeRecord(record: StoredRecord): Uint8Array {
  switch (record.kind) {
    case 'response':
      return encodeResponse(record, true)
    case 'vary-index':
      return encodeVaryIndex(record)
    default: {
      const kind: unknown = (record as { kind: unknown }).kind
      throw new EntryCodecError(`cannot encode a record of unknown kind ${String(kind)}`)
    }
  }
}

/**
 * A record without its body bytes: a response's head (kind 2, its body length included), or a vary
 * index as encodeRecord writes it (it has no body).
 */
export function encodeHead(record: StoredRecord): Uint8Array {
  return record.kind === 'response' ? encodeResponse(record, false) : encodeVaryIndex(record)
}

class Reader {
  private readonly view: DataView
  private pos = 0

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  get remaining(): number {
    return this.bytes.byteLength - this.pos
  }

  private need(count: number, what: string): void {
    if (count > this.remaining) {
      throw new EntryCodecError(
        `truncated record: ${what} needs ${count} bytes at offset ${this.pos}, ${this.remaining} left`
      )
    }
  }

  u8(what: string): number {
    this.need(1, what)
    const value = this.view.getUint8(this.pos)
    this.pos += 1
    return value
  }

  u16(what: string): number {
    this.need(2, what)
    const value = this.view.getUint16(this.pos)
    this.pos += 2
    return value
  }

  u32(what: string): number {
    this.need(4, what)
    const value = this.view.getUint32(this.pos)
    this.pos += 4
    return value
  }

  f64(what: string): number {
    this.need(8, what)
    const value = this.view.getFloat64(this.pos)
    this.pos += 8
    return value
  }

  /** A u32 item count, checked against the smallest size the items could take before anything is allocated. */
  count(what: string, minItemBytes: number): number {
    const count = this.u32(`${what} count`)
    if (count * minItemBytes > this.remaining) {
      throw new EntryCodecError(
        `${what} count ${count} out of bounds: needs at least ${count * minItemBytes} bytes, ${this.remaining} left`
      )
    }
    return count
  }

  /** A view of the next `length`-prefixed bytes, not a copy. */
  slice(what: string): Uint8Array {
    const length = this.u32(`${what} length`)
    if (length > this.remaining) {
      throw new EntryCodecError(
        `${what} length ${length} out of bounds at offset ${this.pos}, ${this.remaining} left`
      )
    }
    const value = this.bytes.subarray(this.pos, this.pos + length)
    this.pos += length
    return value
  }

  str(what: string): string {
    const raw = this.slice(what)
    try {
      return decoder.decode(raw)
    } catch (cause) {
      throw new EntryCodecError(`${what} is not valid UTF-8`, { cause })
    }
  }

  /** An f64 timestamp that must be finite. */
  time(what: string): number {
    return checkTime(this.f64(what), what)
  }

  /** A field name: an RFC 9110 token. */
  token(what: string): string {
    const value = this.str(what)
    if (!TOKEN.test(value)) throw new EntryCodecError(`${what} ${quote(value)} is not a token`)
    return value
  }

  /** A string passing `valid`, else refused as `${what} ... ${problem}`. */
  checked(what: string, valid: (value: string) => boolean, problem: string): string {
    const value = this.str(what)
    if (!valid(value)) throw new EntryCodecError(`${what} ${quote(value)} ${problem}`)
    return value
  }

  end(): void {
    if (this.remaining !== 0) {
      throw new EntryCodecError(`${this.remaining} trailing bytes after the record`)
    }
  }
}

const CONTROL_CHARS = 'holds control characters'
const validator = (value: string) => isPrintable(value, true)
const tagText = (value: string) => isPrintable(value, false)

/** The response fields before the body (kinds 0 and 2). */
function decodeResponseHead(r: Reader): EntryHead {
  const flags = r.u8('flags')
  if ((flags & ~KNOWN_FLAGS) !== 0) {
    throw new EntryCodecError(`unknown flag bits 0x${flags.toString(16)}`)
  }
  const status = r.u16('status')
  if (!isValidStatus(status)) throw new EntryCodecError(`status ${status} is not in 200..599`)
  const storedAt = r.time('storedAt')
  const freshUntil = r.time('freshUntil')
  const staleWhileRevalidateUntil = r.time('staleWhileRevalidateUntil')
  const staleIfErrorUntil = r.time('staleIfErrorUntil')
  const initialAgeSec = r.u32('initialAgeSec')
  const fetchMs = r.u32('fetchMs')
  const etag = flags & FLAG_ETAG ? r.checked('etag', validator, CONTROL_CHARS) : undefined
  const lastModified =
    flags & FLAG_LAST_MODIFIED ? r.checked('lastModified', validator, CONTROL_CHARS) : undefined
  const headerCount = r.count('header', 8)
  const headers: [string, string][] = []
  for (let i = 0; i < headerCount; i++) {
    headers.push([
      r.token('header name'),
      r.checked('header value', isFieldValue, 'holds NUL, CR or LF'),
    ])
  }
  const tagCount = r.count('tag', 4)
  const tags: string[] = []
  for (let i = 0; i < tagCount; i++) tags.push(r.checked('tag', tagText, CONTROL_CHARS))
  return {
    kind: 'response',
    status,
    headers,
    storedAt,
    initialAgeSec,
    freshUntil,
    staleWhileRevalidateUntil,
    staleIfErrorUntil,
    mustRevalidate: (flags & FLAG_MUST_REVALIDATE) !== 0,
    etag,
    lastModified,
    tags,
    fetchMs,
  }
}

function decodeVaryIndex(r: Reader, version: number): VaryIndex {
  const nameCount = r.count('header name', 4)
  const headerNames: string[] = []
  for (let i = 0; i < nameCount; i++) headerNames.push(r.token('header name'))
  const createdAt = r.time('createdAt')
  const expiresAt = r.time('expiresAt')
  const variants: string[] = []
  if (version !== VERSION_1) {
    const variantCount = r.count('variant', 4)
    if (variantCount > MAX_VARIANTS) {
      throw new EntryCodecError(`variant count ${variantCount} over ${MAX_VARIANTS}`)
    }
    for (let i = 0; i < variantCount; i++) {
      variants.push(r.checked('variant', isVariantSuffix, 'does not start with \\n'))
    }
  }
  r.end()
  return { kind: 'vary-index', headerNames, createdAt, expiresAt, variants }
}

function decodeResponse(r: Reader): CacheEntry {
  const head = decodeResponseHead(r)
  const body = r.slice('body')
  r.end()
  return { ...head, body }
}

/** The magic, a known version and `kind`'s byte; returns the version. */
function preamble(r: Reader): { readonly version: number; readonly kind: number } {
  if (r.u8('magic') !== MAGIC_0 || r.u8('magic') !== MAGIC_1) {
    throw new EntryCodecError('bad magic: not an encoded cache record')
  }
  const version = r.u8('version')
  if (version !== VERSION && version !== VERSION_1) {
    throw new EntryCodecError(
      `unknown format version ${version} (this build reads ${VERSION_1} and ${VERSION})`
    )
  }
  return { version, kind: r.u8('kind') }
}

/** What encodeHead wrote: a response's head and body length, or a vary index. */
export type DecodedHead =
  | { readonly kind: 'response'; readonly head: EntryHead; readonly bodyLength: number }
  | { readonly kind: 'vary-index'; readonly index: VaryIndex }

/** Reads what encodeHead wrote, checked as decodeRecord checks a record; anything else throws. */
export function decodeHead(bytes: Uint8Array): DecodedHead {
  const r = new Reader(bytes)
  const { version, kind } = preamble(r)
  if (kind === KIND_VARY_INDEX) return { kind: 'vary-index', index: decodeVaryIndex(r, version) }
  if (kind !== KIND_RESPONSE_HEAD || version !== VERSION) {
    throw new EntryCodecError(`record kind ${kind} (version ${version}) is not a head`)
  }
  const head = decodeResponseHead(r)
  const bodyLength = r.u32('body length')
  r.end()
  return { kind: 'response', head, bodyLength }
}

/**
 * Reads a record written by encodeRecord. The body of a response is a view into `bytes` (no copy): the
 * caller must not reuse `bytes` for anything else while the entry lives.
 */
export function decodeRecord(bytes: Uint8Array): StoredRecord {
  const r = new Reader(bytes)
  const { version, kind } = preamble(r)
  switch (kind) {
    case KIND_RESPONSE:
      return decodeResponse(r)
    case KIND_VARY_INDEX:
      return decodeVaryIndex(r, version)
    default:
      throw new EntryCodecError(`unknown record kind ${kind}`)
  }
}
