import type { CacheEntry } from '../../src/cache/entry'
import { createMemoryTier } from '../../src/cache/memory-tier'

/** A small memory tier under `name` (the name a tier stack reports a read from). */
export function memoryTier(name: string, maxAgeMs = 60_000) {
  return { ...createMemoryTier({ maxEntries: 100, maxBytes: 1 << 20, maxAgeMs }), name }
}

/**
 * A stored 200 written at `storedAt`: fresh, and usable stale, for a minute; body `x`, no headers,
 * tags or validators. `fields` replaces any of these.
 */
export function responseEntry(storedAt: number, fields: Partial<CacheEntry> = {}): CacheEntry {
  return {
    kind: 'response',
    status: 200,
    headers: [],
    body: new TextEncoder().encode('x'),
    storedAt,
    initialAgeSec: 0,
    freshUntil: storedAt + 60_000,
    staleWhileRevalidateUntil: storedAt + 60_000,
    staleIfErrorUntil: storedAt + 60_000,
    mustRevalidate: false,
    etag: undefined,
    lastModified: undefined,
    tags: [],
    fetchMs: 0,
    ...fields,
  }
}
