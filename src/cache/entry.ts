/**
 * A stored response, as every tier (L1 Cache API, L2 Redis) keeps it. Times are epoch milliseconds.
 * The binary form lives in entry-codec.ts; this is the in-memory shape.
 */
export interface CacheEntry {
  readonly kind: 'response'
  readonly status: number
  /** End-to-end response headers as stored (hop-by-hop and per-hop cache headers removed), lower-case names. */
  readonly headers: ReadonlyArray<readonly [string, string]>
  readonly body: Uint8Array
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

/** The instant after which an entry may not be served under any rule; tiers use it as their hard TTL. */
export function entryExpiresAt(entry: CacheEntry): number {
  return Math.max(entry.freshUntil, entry.staleWhileRevalidateUntil, entry.staleIfErrorUntil)
}

/** How long a tier keeps an entry: past its usable life when a validator lets the origin answer 304. */
export function retainUntil(entry: CacheEntry, retainStaleMs: number): number {
  const usable = entryExpiresAt(entry)
  return entry.etag !== undefined || entry.lastModified !== undefined
    ? Math.max(usable, entry.freshUntil + retainStaleMs)
    : usable
}
