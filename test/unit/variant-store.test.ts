import { describe, expect, it } from 'vitest'
import { variantKey } from '../../src/cache/cache-key'
import type { CacheEntry, VaryIndex } from '../../src/cache/entry'
import { entryTags } from '../../src/cache/entry-builder'
import { decodeRecord, encodeRecord } from '../../src/cache/entry-codec'
import { createMemoryTier } from '../../src/cache/memory-tier'
import type { CacheTier } from '../../src/cache/tier'
import { lookupVariant, storeVariant, touchVariant } from '../../src/cache/variant-store'
import { createTierStack } from '../../src/cache/tier-stack'
import { ConfigError, parseConfig } from '../../src/config/load-config'
import { responseEntry } from '../helpers/tier-fixtures'

const PRIMARY = '/search?q=tv'
const NAMES = ['accept-language']

function entry(storedAt: number): CacheEntry {
  return responseEntry(storedAt, { headers: [['content-type', 'text/plain']], fetchMs: 1 })
}

const language = (i: number) => new Headers({ 'accept-language': `lang-${i}` })
const keyOf = (i: number) => variantKey(PRIMARY, NAMES, language(i))
const suffixOf = (i: number) => keyOf(i).slice(PRIMARY.length)

function memory(): CacheTier {
  return createMemoryTier({ maxEntries: 10_000, maxBytes: 64 * 1024 * 1024, maxAgeMs: 600_000 })
}

async function indexIn(tier: CacheTier): Promise<VaryIndex | undefined> {
  const record = await tier.get(PRIMARY)
  if (record !== undefined && record.kind !== 'vary-index') throw new Error('expected an index')
  return record
}

/** Stores the variant of `accept-language: lang-<i>` as a fill would: with the index it last read. */
async function store(tier: CacheTier, i: number, maxVariants = 32): Promise<void> {
  const now = Date.now()
  const stored = await storeVariant(tier, {
    primary: PRIMARY,
    request: language(i),
    entry: entry(now),
    varyNames: NAMES,
    existingIndex: await indexIn(tier),
    requestTime: now,
    retainStaleMs: 0,
    maxKeyLength: 2048,
    maxVariants,
  })
  expect(stored).toBe(true)
}

async function present(tier: CacheTier, from: number, to: number): Promise<number[]> {
  const out: number[] = []
  for (let i = from; i < to; i++) if ((await tier.get(keyOf(i))) !== undefined) out.push(i)
  return out
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i)

describe('variants per primary key are bounded', () => {
  it('40 variants with a limit of 32 leave exactly the 32 most recent; the oldest 8 are deleted', async () => {
    const tier = memory()
    for (let i = 0; i < 40; i++) await store(tier, i)
    expect(await present(tier, 0, 40)).toEqual(range(8, 40))
    const index = await indexIn(tier)
    expect(index?.variants).toHaveLength(32)
    expect(index?.variants).toEqual(range(8, 40).map(suffixOf))
    // The index survives its own codec (L1 and L2 keep it encoded).
    expect(decodeRecord(encodeRecord(index!))).toEqual(index)
  })

  it('storing a listed variant again makes it the most recent: the next eviction spares it', async () => {
    const tier = memory()
    for (let i = 0; i < 32; i++) await store(tier, i)
    await store(tier, 0)
    expect((await indexIn(tier))?.variants.at(-1)).toBe(suffixOf(0))
    expect((await indexIn(tier))?.variants).toHaveLength(32)
    await store(tier, 32)
    expect(await present(tier, 0, 33)).toEqual([0, ...range(2, 33)])
    expect((await indexIn(tier))?.variants).toEqual([...range(2, 32), 0, 32].map(suffixOf))
  })

  it('evicts from every tier of a stack, and lookups still find the kept variants', async () => {
    const near = memory()
    const far = memory()
    const stack = createTierStack([near, far])
    for (let i = 0; i < 6; i++) await store(stack, i, 4)
    for (const tier of [near, far]) {
      expect(await present(tier, 0, 6)).toEqual([2, 3, 4, 5])
      expect((await indexIn(tier))?.variants).toEqual([2, 3, 4, 5].map(suffixOf))
    }
    const found = await lookupVariant(stack, PRIMARY, language(5), 2048)
    expect(found.key).toBe(keyOf(5))
    const evicted = await lookupVariant(stack, PRIMARY, language(0), 2048)
    expect(evicted.entry).toBeUndefined()
  })

  it('a resource that does not vary keeps no index', async () => {
    const tier = memory()
    const now = Date.now()
    await storeVariant(tier, {
      primary: PRIMARY,
      request: new Headers(),
      entry: entry(now),
      varyNames: [],
      existingIndex: undefined,
      requestTime: now,
      retainStaleMs: 0,
      maxKeyLength: 2048,
      maxVariants: 1,
    })
    expect((await tier.get(PRIMARY))?.kind).toBe('response')
  })
})

describe('touchVariant', () => {
  it('adds last, moves an existing one last, and drops the oldest past the limit', () => {
    expect(touchVariant([], '\na', 2)).toEqual({ variants: ['\na'], evicted: [] })
    expect(touchVariant(['\na', '\nb'], '\na', 2)).toEqual({
      variants: ['\nb', '\na'],
      evicted: [],
    })
    expect(touchVariant(['\na', '\nb'], '\nc', 2)).toEqual({
      variants: ['\nb', '\nc'],
      evicted: ['\na'],
    })
    // A lower limit than the list (the config changed) trims it all at once.
    expect(touchVariant(['\na', '\nb', '\nc', '\nd'], '\ne', 2)).toEqual({
      variants: ['\nd', '\ne'],
      evicted: ['\na', '\nb', '\nc'],
    })
  })

  it('returns the same list when the variant is already the most recent', () => {
    const list = ['\na', '\nb']
    expect(touchVariant(list, '\nb', 2).variants).toBe(list)
  })
})

describe('limits.maxVariantsPerKey and limits.maxTagsPerEntry', () => {
  const env = (limits: Record<string, unknown>) => ({
    ORIGIN_URL: 'https://api.example.com',
    CACHE_CONFIG: { routes: [{ pattern: '/api/**', tags: ['route-a', 'route-b'] }], limits },
  })

  it('are bounded integers', () => {
    for (const limits of [
      { maxVariantsPerKey: 0 },
      { maxVariantsPerKey: 1025 },
      { maxVariantsPerKey: 1.5 },
      { maxTagsPerEntry: -1 },
      { maxTagsPerEntry: 1025 },
    ]) {
      expect(() => parseConfig(env(limits))).toThrow(ConfigError)
    }
    const config = parseConfig(env({ maxVariantsPerKey: 1024, maxTagsPerEntry: 0 }))
    expect(config.limits.maxVariantsPerKey).toBe(1024)
    expect(config.limits.maxTagsPerEntry).toBe(0)
  })

  it('entryTags keeps at most maxTagsPerEntry tags, the route first', () => {
    const config = parseConfig(env({ maxTagsPerEntry: 3 }))
    const headers = new Headers({ 'surrogate-key': 'one two three', 'cache-tag': 'four' })
    const route = config.routes[0]!
    expect(entryTags(headers, route, config.limits.maxTagsPerEntry)).toEqual([
      'route-a',
      'route-b',
      'one',
    ])
    expect(entryTags(headers, route, 0)).toEqual([])
    expect(entryTags(headers, route, 64)).toHaveLength(6)
  })
})
