import { afterEach, describe, expect, it, vi } from 'vitest'
import type { CacheEntry } from '../../src/cache/entry'
import { createMemoryTier, type MemoryTierOptions } from '../../src/cache/memory-tier'
import { evictedKeysOf } from '../../src/l2/region-evictions'
import { responseEntry } from '../helpers/tier-fixtures'

function entry(id: string, bodyBytes = 8): CacheEntry {
  return responseEntry(Date.now(), {
    headers: [['content-type', 'text/plain']],
    body: new Uint8Array(bodyBytes).fill(id.charCodeAt(0)),
    fetchMs: 1,
  })
}

/** A memory tier that counts its evictions. */
function counted(options: Partial<MemoryTierOptions> = {}) {
  let evictions = 0
  const tier = createMemoryTier(
    { maxEntries: 2, maxBytes: 1 << 20, maxAgeMs: 60_000, ...options },
    { evicted: () => void evictions++ }
  )
  const later = () => Date.now() + 60_000
  return { tier, later, evictions: () => evictions }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('memory tier evictions', () => {
  it('counts the least recently used copy dropped when maxEntries is exceeded', async () => {
    const { tier, later, evictions } = counted()
    await tier.set('a', entry('a'), later())
    await tier.set('b', entry('b'), later())
    expect(evictions()).toBe(0)
    await tier.get('a') // b is now the least recently used
    await tier.set('c', entry('c'), later())
    expect(evictions()).toBe(1)
    expect(await tier.get('b')).toBeUndefined()
    expect(await tier.get('a')).toBeDefined()
    await tier.set('d', entry('d'), later())
    await tier.set('e', entry('e'), later())
    expect(evictions()).toBe(3)
  })

  it('counts copies dropped for maxBytes, one per victim', async () => {
    // Each record is 256 + 1000 + headers bytes; room for two, not three.
    const { tier, later, evictions } = counted({ maxEntries: 100, maxBytes: 3000 })
    await tier.set('a', entry('a', 1000), later())
    await tier.set('b', entry('b', 1000), later())
    expect(evictions()).toBe(0)
    await tier.set('c', entry('c', 2000), later())
    expect(evictions()).toBe(2)
    expect(await tier.get('c')).toBeDefined()
  })

  it('does not count deletes (purges, invalidations), replacements, or refused copies', async () => {
    const { tier, later, evictions } = counted({ maxBytes: 2000 })
    await tier.set('a', entry('a'), later())
    await tier.set('a', entry('a'), later()) // replaced by a newer copy
    expect(await tier.delete('a')).toBe(true)
    await tier.set('big', entry('b', 4000), later()) // larger than maxBytes: never held
    await tier.set('gone', entry('g'), Date.now() - 1) // already expired: never held
    await tier.set('b', entry('b'), later())
    await tier.set('c', entry('c'), later())
    expect(evictions()).toBe(0)
  })

  it('does not count expired copies, read or pushed out', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { tier, later, evictions } = counted({ maxAgeMs: 1000 })
    await tier.set('a', entry('a'), later())
    await tier.set('b', entry('b'), later())
    vi.setSystemTime(Date.now() + 1500)
    expect(await tier.get('a')).toBeUndefined() // expired, removed on read
    await tier.set('c', entry('c'), later())
    await tier.set('d', entry('d'), later()) // pushes out b, expired and never read again
    expect(evictions()).toBe(0)
    await tier.set('e', entry('e'), later()) // pushes out c, live
    expect(evictions()).toBe(1)
  })
})

describe("evicted_keys from a region's INFO stats", () => {
  it('reads the field from the INFO text (CRLF lines), and nothing when it is missing', () => {
    const info = [
      '# Stats',
      'total_connections_received:12',
      'expired_keys:3',
      'evicted_keys:42',
      'evicted_clients:0',
      '',
    ].join('\r\n')
    expect(evictedKeysOf(info)).toBe(42)
    expect(evictedKeysOf('# Stats\r\nexpired_keys:3\r\n')).toBeUndefined()
    expect(evictedKeysOf('')).toBeUndefined()
  })
})
