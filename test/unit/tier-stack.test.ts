import { describe, expect, it } from 'vitest'
import type { CacheEntry } from '../../src/cache/entry'
import { createMemoryTier } from '../../src/cache/memory-tier'
import { createTierStack } from '../../src/cache/tier-stack'
import { alwaysThrow } from '../helpers/chaos-tier'
import { memoryTier, responseEntry } from '../helpers/tier-fixtures'

function entry(id: string): CacheEntry {
  return responseEntry(Date.now(), {
    headers: [['content-type', 'text/plain']],
    body: new TextEncoder().encode(id),
    fetchMs: 1,
  })
}

describe('tier stack', () => {
  it('reads nearest first and names the tier that answered', async () => {
    const near = memoryTier('near')
    const far = memoryTier('far')
    const stack = createTierStack([near, far])
    await far.set('k', entry('a'), Date.now() + 60_000)
    expect((await stack.read('k'))?.tier).toBe('far')
    // The far hit was copied into the near tier.
    expect((await stack.read('k'))?.tier).toBe('near')
  })

  it('copies a far hit into a tier with copyDelayMs once the delay has passed, the others at once', async () => {
    const first = memoryTier('first')
    const slow = { ...memoryTier('slow'), copyDelayMs: 20 }
    const far = memoryTier('far')
    const deferred: Promise<unknown>[] = []
    const stack = createTierStack([first, slow, far], { defer: (work) => void deferred.push(work) })
    await far.set('k', entry('a'), Date.now() + 60_000)
    expect((await stack.read('k'))?.tier).toBe('far')
    // Answered before either copy; the first tier's copy lands at once, the slow one's 20 ms later.
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(await first.get('k')).toBeDefined()
    expect(await slow.get('k')).toBeUndefined()
    await Promise.all(deferred)
    expect(await slow.get('k')).toBeDefined()
  })

  it('writes and deletes every tier', async () => {
    const near = memoryTier('near')
    const far = memoryTier('far')
    const stack = createTierStack([near, far])
    await stack.set('k', entry('a'), Date.now() + 60_000)
    expect(await near.get('k')).toBeDefined()
    expect(await far.get('k')).toBeDefined()
    expect(await stack.delete('k')).toBe(true)
    expect(await near.get('k')).toBeUndefined()
    expect(await far.get('k')).toBeUndefined()
    expect(await stack.delete('k')).toBe(false)
  })

  it('treats a failing tier as a miss on read and skips it on write', async () => {
    const far = memoryTier('far')
    const stack = createTierStack([alwaysThrow(memoryTier('near')), far])
    await far.set('k', entry('a'), Date.now() + 60_000)
    expect((await stack.read('k'))?.tier).toBe('far')
    await expect(stack.set('j', entry('b'), Date.now() + 60_000)).resolves.toBeUndefined()
    expect(await far.get('j')).toBeDefined()
    expect(await createTierStack([alwaysThrow(far)]).read('k')).toBeUndefined()
  })

  it('reports a failed delete, so a purge cannot claim success', async () => {
    const stack = createTierStack([memoryTier('near'), alwaysThrow(memoryTier('far'))])
    await expect(stack.delete('k')).rejects.toThrow('far is down')
  })
})

describe('memory tier', () => {
  it('holds a copy no longer than maxAgeMs', async () => {
    const tier = createMemoryTier({ maxEntries: 10, maxBytes: 1 << 20, maxAgeMs: 50 })
    await tier.set('k', entry('a'), Date.now() + 60_000)
    expect(await tier.get('k')).toBeDefined()
    await new Promise((resolve) => setTimeout(resolve, 80))
    expect(await tier.get('k')).toBeUndefined()
  })

  it('evicts least recently used entries past maxEntries and maxBytes', async () => {
    const tier = createMemoryTier({ maxEntries: 2, maxBytes: 1 << 20, maxAgeMs: 60_000 })
    const later = Date.now() + 60_000
    await tier.set('a', entry('a'), later)
    await tier.set('b', entry('b'), later)
    await tier.get('a') // a is now the most recently used
    await tier.set('c', entry('c'), later)
    expect(await tier.get('b')).toBeUndefined()
    expect(await tier.get('a')).toBeDefined()
    expect(await tier.get('c')).toBeDefined()

    const small = createMemoryTier({ maxEntries: 100, maxBytes: 700, maxAgeMs: 60_000 })
    await small.set('a', entry('a'), later)
    await small.set('b', entry('b'), later)
    await small.set('c', entry('c'), later)
    expect(await small.get('a')).toBeUndefined()
    expect(await small.get('c')).toBeDefined()
  })

  it('refuses a record larger than its whole budget', async () => {
    const tier = createMemoryTier({ maxEntries: 10, maxBytes: 100, maxAgeMs: 60_000 })
    await tier.set('k', entry('x'.repeat(200)), Date.now() + 60_000)
    expect(await tier.get('k')).toBeUndefined()
  })
})

describe('tier stack probe', () => {
  it('reports each tier, failures included', async () => {
    const stack = createTierStack([memoryTier('near'), alwaysThrow(memoryTier('far'))])
    const probes = await stack.probe('k')
    expect(probes.map((p) => [p.tier, p.ok])).toEqual([
      ['near', true],
      ['far', false],
    ])
    expect(probes[1]?.error).toContain('far is down')
  })
})
