import { describe, expect, it } from 'vitest'
import type { CacheEntry, VaryIndex } from '../../src/cache/entry'
import { PurgeView, recordBytes, type PurgeRecord } from '../../src/purge/view'

const T0 = 1_800_000_000_000

function entry(storedAt: number, tags: string[] = [], fetchMs = 0): CacheEntry {
  return {
    kind: 'response',
    status: 200,
    headers: [],
    body: new Uint8Array(),
    storedAt,
    initialAgeSec: 0,
    freshUntil: storedAt + 60_000,
    staleWhileRevalidateUntil: storedAt + 90_000,
    staleIfErrorUntil: storedAt + 300_000,
    mustRevalidate: false,
    etag: undefined,
    lastModified: undefined,
    tags,
    fetchMs,
  }
}

let n = 0
function purge(at: number, what: Partial<PurgeRecord>): PurgeRecord {
  return { id: `p${++n}`, at, keys: [], tags: [], prefixes: [], soft: false, ...what }
}

const view = () => new PurgeView({ maxRecords: 100, horizonMs: 3_600_000 }, T0)

describe('purge view', () => {
  it('refuses copies made before a matching key, tag or prefix purge, and keeps later ones', () => {
    const v = view()
    v.add(purge(T0 + 1000, { keys: ['/a'], tags: ['t'], prefixes: ['/p/'] }), T0 + 1000)
    expect(v.check('/a', entry(T0 + 500), true)).toBeUndefined()
    expect(v.check('/b', entry(T0 + 500, ['t']), true)).toBeUndefined()
    expect(v.check('/p/1?x=1', entry(T0 + 500), false)).toBeUndefined()
    const later = entry(T0 + 1500, ['t'])
    expect(v.check('/a', later, true)).toBe(later)
    const unrelated = entry(T0 + 500, ['u'])
    expect(v.check('/c', unrelated, true)).toBe(unrelated)
  })

  it('a URL purge (primary key) retires its variants and its vary index', () => {
    const v = view()
    v.add(purge(T0 + 1000, { keys: ['/search?q=tv'] }), T0 + 1000)
    expect(v.check('/search?q=tv\naccept-language:de', entry(T0 + 500), true)).toBeUndefined()
    const index: VaryIndex = {
      kind: 'vary-index',
      headerNames: ['accept-language'],
      createdAt: T0 + 500,
      expiresAt: T0 + 60_000,
      variants: [],
    }
    expect(v.check('/search?q=tv', index, true)).toBeUndefined()
  })

  it('voids fills whose origin fetch started before the purge (stored after it)', () => {
    const v = view()
    v.add(purge(T0 + 1000, { keys: ['/a'] }), T0 + 1000)
    expect(v.check('/a', entry(T0 + 1200, [], 400), false)).toBeUndefined()
    expect(v.check('/a', entry(T0 + 1200, [], 100), false)).toBeDefined()
  })

  it('a soft purge ends freshness and stale-while-revalidate but keeps stale-if-error', () => {
    const v = view()
    v.add(purge(T0 + 1000, { tags: ['t'], soft: true }), T0 + 1000)
    const copy = entry(T0, ['t'])
    const soft = v.check('/a', copy, true) as CacheEntry
    expect(soft.freshUntil).toBe(T0 + 1000)
    expect(soft.staleWhileRevalidateUntil).toBe(T0 + 1000)
    expect(soft.staleIfErrorUntil).toBe(copy.staleIfErrorUntil)
  })

  it('adds each id once, stays bounded, and refuses near copies older than what it remembers', () => {
    const v = view()
    const record = purge(T0 + 10, { keys: ['/a'] })
    expect(v.add(record, T0 + 10)).toBe(true)
    expect(v.add(record, T0 + 10)).toBe(false)
    for (let i = 0; i < 150; i++) v.add(purge(T0 + 100 + i, { keys: [`/k${i}`] }), T0 + 1000)
    expect(v.size).toBeLessThanOrEqual(100)
    expect(v.floor).toBeGreaterThan(T0)
    const old = entry(T0 + 20)
    expect(v.check('/z', old, true)).toBeUndefined()
    // L2 was purged directly: only the near tiers depend on the view's memory.
    expect(v.check('/z', old, false)).toBe(old)
  })

  it('purgedAt gives the latest hard purge of a key (for results cached outside the tiers)', () => {
    const v = view()
    v.add(purge(T0 + 1000, { prefixes: ['/p/'] }), T0 + 1000)
    v.add(purge(T0 + 2000, { keys: ['/p/1'] }), T0 + 2000)
    expect(v.purgedAt('/p/1\naccept:x')).toBe(T0 + 2000)
    expect(v.purgedAt('/p/2')).toBe(T0 + 1000)
    expect(v.purgedAt('/q')).toBe(0)
  })

  it('is bounded in bytes as in records: the oldest go, the floor rises past them', () => {
    const maxBytes = 64 * 1024
    const v = new PurgeView({ maxRecords: 10_000, horizonMs: 3_600_000, maxBytes }, T0)
    const big = 'x'.repeat(4 * 1024)
    for (let i = 0; i < 100; i++) v.add(purge(T0 + i, { tags: [`t${i}`, big] }), T0 + i)
    const held = v.records().reduce((sum, record) => sum + recordBytes(record), 0)
    expect(held).toBeLessThanOrEqual(maxBytes)
    expect(v.records().at(-1)!.tags[0]).toBe('t99')
    // A copy older than the records it forgot is unknown to the view: refused from a near tier.
    const oldest = v.records()[0]!.at
    expect(v.floor).toBeGreaterThan(T0)
    expect(v.check('/x', entry(oldest - 1), true)).toBeUndefined()
    expect(v.check('/x', entry(T0 + 200), true)).toBeDefined()
  })
})
