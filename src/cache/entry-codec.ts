import type { CacheEntry, StoredRecord, VaryIndex } from './entry'

/*
 * The one binary format of a stored record, shared by every tier. Big-endian throughout.
 *
 *   magic    2 bytes  0x45 0x43 ("EC")
 *   version  u8       1
 *   kind     u8       0 = response, 1 = vary index
 *
 * response:
 *   flags u8 (bit 0 must-revalidate, bit 1 etag present, bit 2 last-modified present)
 *   status u16 · storedAt f64 · freshUntil f64 · staleWhileRevalidateUntil f64 · staleIfErrorUntil f64
 *   initialAgeSec u32 · fetchMs u32   (rounded down, clamped to 0 … 2^32-1)
 *   [etag str] · [lastModified str] · headers: u32 count, (name str, value str)* · tags: u32 count, str*
 *   body: u32 length, bytes (last, so a reader can take it as a view without copying)
 * vary index:
 *   headerNames: u32 count, str* · createdAt f64 · expiresAt f64
 *
 * str = u32 byte length + UTF-8. Every length is checked against the bytes left before anything is
 * allocated, so a corrupt or hostile record costs nothing; invalid UTF-8 and trailing bytes are errors.
 */

export class EntryCodecError extends Error {
  static readonly code = 'E_ENTRY_CODEC'
  constructor(message: string) {
    super(message)
    this.name = 'EntryCodecError'
  }
}

const MAGIC_0 = 0x45
const MAGIC_1 = 0x43
const VERSION = 1
const KIND_RESPONSE = 0
const KIND_VARY_INDEX = 1
const FLAG_MUST_REVALIDATE = 1
const FLAG_ETAG = 2
const FLAG_LAST_MODIFIED = 4
const U32_MAX = 0xffff_ffff

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

function u32(value: number): number {
  return Math.min(U32_MAX, Math.max(0, Math.floor(value) || 0))
}

/** Worst case UTF-8 size of a string; the exact size is written after encodeInto. */
function maxUtf8(value: string): number {
  return value.length * 3
}

class Writer {
  readonly bytes: Uint8Array
  private readonly view: DataView
  offset = 0
  constructor(capacity: number) {
    this.bytes = new Uint8Array(capacity)
    this.view = new DataView(this.bytes.buffer)
  }
  u8(value: number) {
    this.view.setUint8(this.offset, value)
    this.offset += 1
  }
  u16(value: number) {
    this.view.setUint16(this.offset, value)
    this.offset += 2
  }
  u32(value: number) {
    this.view.setUint32(this.offset, value)
    this.offset += 4
  }
  f64(value: number) {
    this.view.setFloat64(this.offset, value)
    this.offset += 8
  }
  str(value: string) {
    const { written } = encoder.encodeInto(value, this.bytes.subarray(this.offset + 4))
    this.view.setUint32(this.offset, written)
    this.offset += 4 + written
  }
  raw(value: Uint8Array) {
    this.u32(value.byteLength)
    this.bytes.set(value, this.offset)
    this.offset += value.byteLength
  }
  done(): Uint8Array {
    return this.bytes.subarray(0, this.offset)
  }
}

export function encodeRecord(record: StoredRecord): Uint8Array {
  return record.kind === 'response' ? encodeResponse(record) : encodeVaryIndex(record)
}

function encodeResponse(entry: CacheEntry): Uint8Array {
  let size = 4 + 1 + 2 + 8 * 4 + 4 * 2 + 4 + 4 + 4 + entry.body.byteLength
  if (entry.etag !== undefined) size += 4 + maxUtf8(entry.etag)
  if (entry.lastModified !== undefined) size += 4 + maxUtf8(entry.lastModified)
  for (const [name, value] of entry.headers) size += 8 + maxUtf8(name) + maxUtf8(value)
  for (const tag of entry.tags) size += 4 + maxUtf8(tag)
  const w = new Writer(size)
  w.u8(MAGIC_0)
  w.u8(MAGIC_1)
  w.u8(VERSION)
  w.u8(KIND_RESPONSE)
  w.u8(
    (entry.mustRevalidate ? FLAG_MUST_REVALIDATE : 0) |
      (entry.etag !== undefined ? FLAG_ETAG : 0) |
      (entry.lastModified !== undefined ? FLAG_LAST_MODIFIED : 0)
  )
  w.u16(entry.status)
  w.f64(entry.storedAt)
  w.f64(entry.freshUntil)
  w.f64(entry.staleWhileRevalidateUntil)
  w.f64(entry.staleIfErrorUntil)
  w.u32(u32(entry.initialAgeSec))
  w.u32(u32(entry.fetchMs))
  if (entry.etag !== undefined) w.str(entry.etag)
  if (entry.lastModified !== undefined) w.str(entry.lastModified)
  w.u32(entry.headers.length)
  for (const [name, value] of entry.headers) {
    w.str(name)
    w.str(value)
  }
  w.u32(entry.tags.length)
  for (const tag of entry.tags) w.str(tag)
  w.raw(entry.body)
  return w.done()
}

function encodeVaryIndex(index: VaryIndex): Uint8Array {
  let size = 4 + 4 + 16
  for (const name of index.headerNames) size += 4 + maxUtf8(name)
  const w = new Writer(size)
  w.u8(MAGIC_0)
  w.u8(MAGIC_1)
  w.u8(VERSION)
  w.u8(KIND_VARY_INDEX)
  w.u32(index.headerNames.length)
  for (const name of index.headerNames) w.str(name)
  w.f64(index.createdAt)
  w.f64(index.expiresAt)
  return w.done()
}

class Reader {
  private readonly view: DataView
  offset = 0
  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }
  private need(n: number) {
    if (n > this.bytes.byteLength - this.offset) {
      throw new EntryCodecError(`truncated record: need ${n} bytes at offset ${this.offset}`)
    }
  }
  u8() {
    this.need(1)
    return this.view.getUint8(this.offset++)
  }
  u16() {
    this.need(2)
    const value = this.view.getUint16(this.offset)
    this.offset += 2
    return value
  }
  u32() {
    this.need(4)
    const value = this.view.getUint32(this.offset)
    this.offset += 4
    return value
  }
  f64() {
    this.need(8)
    const value = this.view.getFloat64(this.offset)
    this.offset += 8
    return value
  }
  /** A count of items each at least `minItemSize` bytes: bounded by what is left before any allocation. */
  count(minItemSize: number) {
    const n = this.u32()
    if (n * minItemSize > this.bytes.byteLength - this.offset) {
      throw new EntryCodecError(`count ${n} exceeds the record at offset ${this.offset - 4}`)
    }
    return n
  }
  raw() {
    const length = this.u32()
    this.need(length)
    const view = this.bytes.subarray(this.offset, this.offset + length)
    this.offset += length
    return view
  }
  str() {
    try {
      return decoder.decode(this.raw())
    } catch (error) {
      if (error instanceof EntryCodecError) throw error
      throw new EntryCodecError(`invalid UTF-8 before offset ${this.offset}`)
    }
  }
  end() {
    if (this.offset !== this.bytes.byteLength) {
      throw new EntryCodecError(`${this.bytes.byteLength - this.offset} trailing bytes`)
    }
  }
}

export function decodeRecord(bytes: Uint8Array): StoredRecord {
  const r = new Reader(bytes)
  if (r.u8() !== MAGIC_0 || r.u8() !== MAGIC_1)
    throw new EntryCodecError('not an entry (bad magic)')
  const version = r.u8()
  if (version !== VERSION) throw new EntryCodecError(`unknown format version ${version}`)
  const kind = r.u8()
  let record: StoredRecord
  if (kind === KIND_RESPONSE) record = decodeResponse(r)
  else if (kind === KIND_VARY_INDEX) record = decodeVaryIndex(r)
  else throw new EntryCodecError(`unknown record kind ${kind}`)
  r.end()
  return record
}

function decodeResponse(r: Reader): CacheEntry {
  const flags = r.u8()
  const status = r.u16()
  const storedAt = r.f64()
  const freshUntil = r.f64()
  const staleWhileRevalidateUntil = r.f64()
  const staleIfErrorUntil = r.f64()
  const initialAgeSec = r.u32()
  const fetchMs = r.u32()
  const etag = flags & FLAG_ETAG ? r.str() : undefined
  const lastModified = flags & FLAG_LAST_MODIFIED ? r.str() : undefined
  const headerCount = r.count(8)
  const headers: Array<[string, string]> = []
  for (let i = 0; i < headerCount; i++) headers.push([r.str(), r.str()])
  const tagCount = r.count(4)
  const tags: string[] = []
  for (let i = 0; i < tagCount; i++) tags.push(r.str())
  const body = r.raw()
  return {
    kind: 'response',
    status,
    headers,
    body,
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

function decodeVaryIndex(r: Reader): VaryIndex {
  const count = r.count(4)
  const headerNames: string[] = []
  for (let i = 0; i < count; i++) headerNames.push(r.str())
  return { kind: 'vary-index', headerNames, createdAt: r.f64(), expiresAt: r.f64() }
}
