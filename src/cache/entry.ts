/**
 * A stored response but its body: what every decision (freshness, validators, purges) reads. Times are
 * epoch milliseconds. The binary form lives in entry-codec.ts.
 */
export interface EntryHead {
  readonly kind: 'response'
  readonly status: number
  /** End-to-end response headers as stored (hop-by-hop and per-hop cache headers removed), lower-case names. */
  readonly headers: ReadonlyArray<readonly [string, string]>
  /** When this copy was written (response time at the cache). */
  readonly storedAt: number
  /** RFC 9111 §4.2.3 corrected_initial_age, in seconds, at storedAt. */
  readonly initialAgeSec: number
  /** Fresh until this instant; served as a plain hit before it. */
  readonly freshUntil: number
  /** RFC 5861 stale-while-revalidate bound: served stale (with a background refresh) before it. */
  readonly staleWhileRevalidateUntil: number
  /** RFC 5861 stale-if-error bound: served stale when the origin fails before it. */
  readonly staleIfErrorUntil: number
  /** must-revalidate / proxy-revalidate / no-cache: never served stale without a successful revalidation. */
  readonly mustRevalidate: boolean
  readonly etag: string | undefined
  readonly lastModified: string | undefined
  readonly tags: readonly string[]
  /** How long the origin took to produce this response (XFetch uses it). */
  readonly fetchMs: number
}

/** A stored response with its body in memory: what tiers store, L2 and the memory tier hand out. */
export interface CacheEntry extends EntryHead {
  readonly body: Uint8Array
}

/**
 * A body a tier still holds outside JS memory (L1: the Cache API's own stream), read only when bytes
 * are needed. Every call is safe in any order: the stream goes to the first `take()` made before any
 * `bytes()`; later calls get the bytes, read once (from the tier again if the stream went out).
 */
export interface LazyBody {
  readonly byteLength: number
  /** The body for one response: the tier's stream, untouched, or (once read) the bytes. */
  take(): ReadableStream<Uint8Array> | Promise<Uint8Array>
  /** The bytes in memory, read once and kept; rejects if the tier no longer holds this copy. */
  bytes(): Promise<Uint8Array>
}

/** A response as a tier reads it out, its body not necessarily in memory yet (an L1 hit). */
export interface LazyEntry extends EntryHead {
  readonly body: LazyBody
}

/** A response read from a tier: bytes in memory (memory tier, L2) or still in the tier (L1). */
export type ReadEntry = CacheEntry | LazyEntry

/** A record read from a tier; what tiers store is a StoredRecord (bodies in memory). */
export type ReadRecord = ReadEntry | VaryIndex

/**
 * Stored at the primary key when a response varies (origin `Vary` or route key headers): it names the
 * request headers whose values select the variant. Variants older than `createdAt` are refused, so deleting
 * the index (a purge by URL) also retires every variant stored under it.
 */
export interface VaryIndex {
  readonly kind: 'vary-index'
  /** Lower-case, sorted, de-duplicated request header names. */
  readonly headerNames: readonly string[]
  readonly createdAt: number
  /** The index lives as long as its longest-lived variant may. */
  readonly expiresAt: number
  /**
   * The variants stored under it, least recently stored first, each as its key after the primary key
   * (`\naccept-language:de`): at most `limits.maxVariantsPerKey`, the oldest evicted. A variant missing
   * from the list is still served; the list bounds storage, not lookups.
   */
  readonly variants: readonly string[]
}

export type StoredRecord = CacheEntry | VaryIndex

export function hasBytes(entry: ReadEntry): entry is CacheEntry {
  return entry.body instanceof Uint8Array
}

/**
 * `entry` with its body in memory: itself when it is, else a copy once its bytes are read. The read
 * starts before this returns, so a `take()` after it gets the bytes, not a stream already gone.
 */
export function withBytes(entry: ReadEntry): CacheEntry | Promise<CacheEntry> {
  if (hasBytes(entry)) return entry
  return entry.body.bytes().then((body) => ({ ...entry, body }))
}

/** As withBytes, for any record (an index has no body). */
export function storedRecord(record: ReadRecord): StoredRecord | Promise<StoredRecord> {
  return record.kind === 'vary-index' ? record : withBytes(record)
}

/** The instant after which an entry may not be served under any rule; tiers use it as their hard TTL. */
export function entryExpiresAt(entry: EntryHead): number {
  return Math.max(entry.freshUntil, entry.staleWhileRevalidateUntil, entry.staleIfErrorUntil)
}

/** How long a tier keeps an entry: past its usable life when a validator lets the origin answer 304. */
export function retainUntil(entry: EntryHead, retainStaleMs: number): number {
  const usable = entryExpiresAt(entry)
  return entry.etag !== undefined || entry.lastModified !== undefined
    ? Math.max(usable, entry.freshUntil + retainStaleMs)
    : usable
}
