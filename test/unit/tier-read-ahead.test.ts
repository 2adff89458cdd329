import { describe, expect, it } from 'vitest'
import { MissRatio } from '../../src/cache/miss-ratio'
import type { CacheTier } from '../../src/cache/tier'
import { createTierStack } from '../../src/cache/tier-stack'
import { withDeadline } from '../../src/lib/with-deadline'
import { PurgeScope } from '../../src/purge/scope'
import { alwaysDelay, alwaysThrow, neverAnswers } from '../helpers/chaos-tier'
import { memoryTier, responseEntry } from '../helpers/tier-fixtures'

const entry = (storedAt: number, tags: string[] = []) => responseEntry(storedAt, { tags })

/** A hint that has seen nothing but misses: read-ahead on. */
function missing(): MissRatio {
  const hint = new MissRatio()
  for (let i = 0; i < 64; i++) hint.record(false)
  return hint
}

const settings = {
  boundMs: 60_000,
  pollIntervalMs: 100,
  horizonSeconds: 3600,
  maxLogEntries: 1000,
  maxScanKeys: 1000,
}

describe('miss ratio (the read-ahead hint)', () => {
  it('says nothing before 16 lookups, then follows the last 64 only', () => {
    const hint = new MissRatio()
    for (let i = 0; i < 15; i++) hint.record(false)
    expect(hint.likelyMiss()).toBe(false)
    hint.record(false)
    expect(hint.likelyMiss()).toBe(true)
    // A hundred thousand misses are forgotten after 64 hits: a window, not a history.
    for (let i = 0; i < 100_000; i++) hint.record(false)
    for (let i = 0; i < 64; i++) hint.record(true)
    expect(hint.ratio).toBe(0)
    expect(hint.likelyMiss()).toBe(false)
    // Three misses in four turn it on, fewer do not.
    for (let i = 0; i < 47; i++) hint.record(false)
    expect(hint.likelyMiss()).toBe(false)
    hint.record(false)
    expect(hint.ratio).toBe(0.75)
    expect(hint.likelyMiss()).toBe(true)
  })

  it('is bounded in memory: it keeps no keys, only its fixed window', () => {
    const hint = new MissRatio()
    // record() takes an outcome, never a key: a flood of distinct keys cannot grow it.
    expect(hint.record.length).toBe(1)
    for (let i = 0; i < 200_000; i++) hint.record(i % 5 === 0)
    expect(hint.ratio).toBeCloseTo(0.8, 1)
  })
})

describe('tier stack read-ahead', () => {
  it('reads the far tier with the near one while the hint says miss: max, not sum', async () => {
    const memory = memoryTier('memory')
    const l1 = alwaysDelay(memoryTier('L1'), 60)
    const l2 = alwaysDelay(memoryTier('L2'), 60)
    await l2.set('/a', entry(Date.now()), Date.now() + 60_000)
    const hint = missing()
    const stack = createTierStack([memory, l1, l2], { readAhead: { index: 1, hint } })
    const started = Date.now()
    expect((await stack.read('/a'))?.tier).toBe('L2')
    expect(Date.now() - started).toBeLessThan(110)
    expect([l1.reads, l2.reads]).toEqual([1, 1])
    // The copy went into memory: the next read needs neither.
    expect((await stack.read('/a'))?.tier).toBe('memory')
    expect([l1.reads, l2.reads]).toEqual([1, 1])
  })

  it('reads in order while the hint says hit, and never before a memory miss', async () => {
    const memory = memoryTier('memory')
    const l1 = alwaysDelay(memoryTier('L1'), 20)
    const l2 = alwaysDelay(memoryTier('L2'), 20)
    await memory.set('/m', entry(Date.now()), Date.now() + 60_000)
    await l1.set('/a', entry(Date.now()), Date.now() + 60_000)
    const hint = new MissRatio()
    for (let i = 0; i < 64; i++) hint.record(true)
    const stack = createTierStack([memory, l1, l2], { readAhead: { index: 1, hint } })
    expect((await stack.read('/a'))?.tier).toBe('L1')
    expect(l2.reads).toBe(0)
    const busy = createTierStack([memory, l1, l2], { readAhead: { index: 1, hint: missing() } })
    expect((await busy.read('/m'))?.tier).toBe('memory')
    expect([l1.reads, l2.reads]).toEqual([1, 0])
  })

  it('serves a near hit, lets the read ahead finish in the background, counts the hit', async () => {
    const l1 = memoryTier('L1')
    const l2 = alwaysDelay(memoryTier('L2'), 30)
    await l1.set('/a', entry(Date.now()), Date.now() + 60_000)
    await l2.set('/a', entry(Date.now()), Date.now() + 60_000)
    const hint = missing()
    const deferred: Promise<unknown>[] = []
    const spent: string[] = []
    const stack = createTierStack([l1, l2], {
      readAhead: { index: 0, hint, spent: (outcome) => void spent.push(outcome) },
      defer: (work) => void deferred.push(work),
    })
    expect((await stack.read('/a'))?.tier).toBe('L1')
    expect(await stack.read('/b')).toBeUndefined()
    expect(spent).toEqual(['wasted', 'used'])
    // One wasted GET (the price of the hint), kept alive until it answers.
    expect(l2.reads).toBe(2)
    expect(deferred).toHaveLength(1)
    await expect(Promise.all(deferred)).resolves.toBeDefined()
    expect(hint.ratio).toBeCloseTo(63 / 64)
  })

  it('a purge made while both reads are in flight voids the far copy read ahead', async () => {
    const l1 = alwaysDelay(memoryTier('L1'), 40)
    const l2 = alwaysDelay(memoryTier('L2'), 40)
    const scope = new PurgeScope(settings, [l1], undefined, undefined)
    await l2.set('/a', entry(Date.now() - 10, ['t']), Date.now() + 60_000)
    const stack = createTierStack([l1, l2], {
      guard: scope.guard(1),
      readAhead: { index: 0, hint: missing() },
    })
    const reading = stack.read('/a')
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(l2.reads).toBe(1)
    await scope.publish({ keys: [], tags: ['t'], prefixes: [], soft: false }, undefined)
    expect(await reading).toBeUndefined()
    // Refused, so not copied nearer either.
    expect(await l1.get('/a')).toBeUndefined()
  })

  it('a near copy refused by a purge falls back to the far copy read ahead, checked too', async () => {
    const l1 = memoryTier('L1')
    const l2 = alwaysDelay(memoryTier('L2'), 20)
    const scope = new PurgeScope(settings, [l1], undefined, undefined)
    await l1.set('/a', entry(Date.now() - 10, ['t']), Date.now() + 60_000)
    await scope.publish({ keys: [], tags: ['t'], prefixes: [], soft: false }, undefined)
    await l2.set('/a', entry(Date.now() + 5, ['t']), Date.now() + 60_000)
    const stack = createTierStack([l1, l2], {
      guard: scope.guard(1),
      readAhead: { index: 0, hint: missing() },
    })
    expect((await stack.read('/a'))?.tier).toBe('L2')
    expect(l2.reads).toBe(1)
  })

  it('an L2 that never answers degrades to a miss within its deadline', async () => {
    const silent = neverAnswers('L2')
    // The regional L2's own bound on a read (regional-l2.ts: withDeadline per call).
    const l2: CacheTier = {
      ...silent,
      get: (key) => withDeadline(silent.get(key), 100, 'L2 get'),
    }
    const l1 = alwaysDelay(memoryTier('L1'), 20)
    const hint = missing()
    const stack = createTierStack([memoryTier('memory'), l1, l2], { readAhead: { index: 1, hint } })
    const started = Date.now()
    expect(await stack.read('/a')).toBeUndefined()
    expect(Date.now() - started).toBeLessThan(400)
    expect(silent.reads).toBe(1)
    // A failing L1 counts as a miss, and the stack still answers (from nowhere: a miss).
    const broken = createTierStack([alwaysThrow(memoryTier('L1')), l2], {
      readAhead: { index: 0, hint },
    })
    expect(await broken.read('/b')).toBeUndefined()
    expect(silent.reads).toBe(2)
  })
})
