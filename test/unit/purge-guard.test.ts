import { describe, expect, it } from 'vitest'
import { createTierStack } from '../../src/cache/tier-stack'
import { PurgeScope } from '../../src/purge/scope'
import { purgeRequestSchema } from '../../src/admin/admin-routes'
import { memoryTier, responseEntry } from '../helpers/tier-fixtures'

const entry = (storedAt: number, tags: string[] = []) => responseEntry(storedAt, { tags })

const settings = {
  boundMs: 1000,
  pollIntervalMs: 100,
  horizonSeconds: 3600,
  maxLogEntries: 1000,
  maxScanKeys: 1000,
}

describe('the purge view on the read path', () => {
  it('refuses and deletes a near copy made before a tag purge, then reads the far tier', async () => {
    const near = memoryTier('near')
    const far = memoryTier('far')
    const scope = new PurgeScope(settings, [near], undefined, undefined)
    const stack = createTierStack([near, far], { guard: scope.guard(1) })
    const old = entry(Date.now() - 10, ['t'])
    await near.set('/a', old, Date.now() + 60_000)
    await scope.publish({ keys: [], tags: ['t'], prefixes: [], soft: false }, undefined)
    await far.set('/a', entry(Date.now() + 5, ['t']), Date.now() + 60_000)
    expect((await stack.read('/a'))?.tier).toBe('far')
    expect(await near.get('/a')).not.toBe(old)
  })

  it('a purge that lands before a delayed copy into L1 is written: that copy is never served', async () => {
    const memory = memoryTier('memory')
    const l1 = { ...memoryTier('L1'), copyDelayMs: 20 }
    const l2 = memoryTier('L2')
    const deferred: Promise<unknown>[] = []
    const scope = new PurgeScope(settings, [memory, l1], undefined, undefined)
    const stack = createTierStack([memory, l1, l2], {
      guard: scope.guard(2),
      defer: (work) => void deferred.push(work),
    })
    await l2.set('/a', entry(Date.now() - 10, ['t']), Date.now() + 60_000)
    expect((await stack.read('/a'))?.tier).toBe('L2')
    // The purge comes while the L1 copy waits; L2 loses its copy too.
    await scope.publish({ keys: ['/a'], tags: ['t'], prefixes: [], soft: false }, undefined)
    await l2.delete('/a')
    await Promise.all(deferred)
    // The late copy did land in L1, and is refused and dropped there: the read finds nothing.
    expect(await l1.get('/a')).toBeDefined()
    expect(await stack.read('/a')).toBeUndefined()
    expect(await l1.get('/a')).toBeUndefined()
  })

  it('skips the near tiers while the view is older than the bound', async () => {
    const near = memoryTier('near')
    const far = memoryTier('far')
    const scope = new PurgeScope(settings, [near], undefined, undefined)
    const stack = createTierStack([near, far], { guard: scope.guard(1) })
    await near.set('/a', entry(Date.now()), Date.now() + 60_000)
    await far.set('/a', entry(Date.now()), Date.now() + 60_000)
    expect((await stack.read('/a'))?.tier).toBe('near')
    scope.view.freshAt = Date.now() - 5000
    expect((await stack.read('/a'))?.tier).toBe('far')
  })
})

describe('purge request body', () => {
  it('takes any mix and refuses what is unknown, empty, too many or mistyped', () => {
    expect(
      purgeRequestSchema.safeParse({ tags: ['a'], prefixes: ['/p/'], soft: true }).success
    ).toBe(true)
    for (const bad of [
      {},
      { tags: [] },
      { tags: ['a'], extra: 1 },
      { tags: Array.from({ length: 10_000 }, () => 'a') },
      { keys: 'k' },
      { prefixes: ['p'] },
      { urls: ['/a'], soft: 'yes' },
    ])
      expect(purgeRequestSchema.safeParse(bad).success, JSON.stringify(bad).slice(0, 40)).toBe(
        false
      )
  })
})
