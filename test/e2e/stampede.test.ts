/**
 * Stampede protection on the running stack (wrangler dev, three simulated L2 regions, the demo
 * origin): the Coalescer objects are real Durable Objects behind real RPC, one per (region, shard).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { getAt, settleRegions } from './simulated-client'

const originUrl = inject('originUrl')

const run = crypto.randomUUID().slice(0, 8)

const get = getAt

async function fetchesOf(path: string): Promise<number> {
  const stats = (await (await fetch(`${originUrl}/__origin/stats`)).json()) as {
    byPath: Record<string, number>
  }
  return stats.byPath[path] ?? 0
}

async function originLatency(ms: number): Promise<void> {
  const response = await fetch(`${originUrl}/__origin/latency`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ms }),
  })
  await response.arrayBuffer()
}

// Earlier files stop regions: start from a healthy geography, or failover would mix the domains.
beforeAll(settleRegions, 30_000)
afterAll(() => originLatency(20))

describe('stampede protection on the local stack', () => {
  it('concurrent cold requests from three regions: one origin fetch per region (the domain)', async () => {
    await originLatency(300)
    const name = `/echo/stampede-${run}`
    const path = `${name}?h-cache-control=max-age%3D300`
    const colos = ['IAD', 'LHR', 'BOM']
    const results = await Promise.all(
      colos.flatMap((colo) => Array.from({ length: 100 }, () => get(path, colo)))
    )
    expect(results.every((result) => result.status === 200)).toBe(true)
    // At most one fetch per coalescing domain (`coalescer.domain = "region"`): us-east, eu-west,
    // ap-south. Fewer when a region's read fails over (a home slowed past its deadline by this very
    // burst on a busy machine) to a region whose fill already landed: a fresh copy, not a stampede.
    const fetches = await fetchesOf(name)
    expect(fetches).toBeGreaterThanOrEqual(1)
    expect(fetches).toBeLessThanOrEqual(3)
    for (const [i, colo] of colos.entries()) {
      const ofColo = results.slice(i * 100, (i + 1) * 100)
      expect(new Set(ofColo.map((result) => result.body)).size, colo).toBe(1)
    }
    // Requests that missed while a fill ran waited on it in the region's Coalescer object; the
    // later ones were hits (how many of each depends on how fast wrangler dev takes them in).
    const misses = results.filter((result) => !result.cacheStatus.includes('; hit;'))
    const collapsed = misses.filter((result) => result.cacheStatus.includes('collapsed'))
    // Every miss beyond the leaders (at most one per domain) waited on a leader's fill.
    expect(misses.length - collapsed.length).toBeLessThanOrEqual(3)
  })

  it('a second burst from a sibling colo after the fill never reaches the origin', async () => {
    await originLatency(20)
    const name = `/echo/stampede-again-${run}`
    const path = `${name}?h-cache-control=max-age%3D300`
    await get(path, 'CDG')
    const again = await Promise.all(Array.from({ length: 50 }, () => get(path, 'FRA')))
    // From L2 (eu-west) once the fill's write landed; before that, the object's just-filled copy.
    for (const result of again) {
      expect(result.status).toBe(200)
      expect(result.cacheStatus).toMatch(/; hit;|; collapsed/)
    }
    expect(await fetchesOf(name)).toBe(1)
  })
})
