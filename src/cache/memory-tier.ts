import type { StoredRecord } from './entry'
import type { CacheTier } from './tier'

export interface MemoryTierOptions {
  readonly maxEntries: number
  readonly maxBytes: number
  /** No copy is held longer than this: the bound within which purges made elsewhere are honoured. */
  readonly maxAgeMs: number
}

export interface MemoryTierEvents {
  /**
   * A live copy was dropped to make room (entries or bytes over their bound): the LRU's victims
   * only, never an expired copy, a purge, an invalidation or a copy replaced by a newer one.
   */
  evicted(): void
}

interface Slot {
  readonly record: StoredRecord
  readonly expiresAt: number
  readonly bytes: number
}

function sizeOf(record: StoredRecord): number {
  if (record.kind === 'vary-index') {
    let size = 64 + record.headerNames.join('').length * 2
    for (const variant of record.variants) size += 16 + variant.length * 2
    return size
  }
  let size = 256 + record.body.byteLength
  for (const [name, value] of record.headers) size += (name.length + value.length) * 2
  return size
}

/**
 * The in-isolate hot tier: decoded records in a bounded LRU (entries and bytes), each held at most
 * `maxAgeMs`. It saves the Cache API read and the decode on hot keys. Purges and invalidations in
 * this isolate delete from it at once; those made in other isolates are honoured within `maxAgeMs`.
 */
export function createMemoryTier(options: MemoryTierOptions, events?: MemoryTierEvents): CacheTier {
  const slots = new Map<string, Slot>()
  let bytes = 0

  const remove = (key: string, slot: Slot) => {
    slots.delete(key)
    bytes -= slot.bytes
  }

  return {
    name: 'memory',
    async get(key) {
      const slot = slots.get(key)
      if (slot === undefined) return undefined
      if (Date.now() >= slot.expiresAt) {
        remove(key, slot)
        return undefined
      }
      // Re-insert: Map order is the LRU order.
      slots.delete(key)
      slots.set(key, slot)
      return slot.record
    },
    async set(key, record, expiresAt) {
      const old = slots.get(key)
      if (old !== undefined) remove(key, old)
      const slot: Slot = {
        record,
        expiresAt: Math.min(expiresAt, Date.now() + options.maxAgeMs),
        bytes: sizeOf(record),
      }
      if (slot.bytes > options.maxBytes || slot.expiresAt <= Date.now()) return
      slots.set(key, slot)
      bytes += slot.bytes
      const now = Date.now()
      for (const [oldest, victim] of slots) {
        if (slots.size <= options.maxEntries && bytes <= options.maxBytes) break
        remove(oldest, victim)
        // An expired copy that was never read again is an expiry, not an eviction.
        if (victim.expiresAt > now) events?.evicted()
      }
    },
    async delete(key) {
      const slot = slots.get(key)
      if (slot === undefined) return false
      remove(key, slot)
      return true
    },
  }
}
