/**
 * L2 across simulated regions: three real redis-server processes, each behind its own
 * Upstash-compatible endpoint with the latency matrix, and the Worker under `wrangler dev`.
 * Simulated clients sit at colos (x-sim-colo) mapped to regions by wrangler.toml: IAD/EWR us-east,
 * LHR/CDG/FRA eu-west, BOM/SIN ap-south. Every colo has its own L1; the colos of a region share its L2.
 */
import { createClient } from 'redis'
import { afterAll, beforeEach, describe, expect, inject, it } from 'vitest'
import { getAt, originFetches, regionsFrom, settleRegions, until } from './simulated-client'

const workerUrl = inject('workerUrl')
const adminToken = inject('adminToken')
const controlUrl = inject('regionsControlUrl')

const run = crypto.randomUUID().slice(0, 8)
let n = 0
/** A fresh cacheable URL: nothing of it is in any tier yet. */
const freshPath = () => `/echo/l2-${run}-${++n}?h-cache-control=max-age%3D300`

const get = getAt

/** Whether a region's Redis holds the entry for `path` (read straight from its redis-server). */
async function inRegion(name: string, path: string): Promise<boolean> {
  const { regions } = (await (await fetch(`${controlUrl}/regions`)).json()) as {
    regions: Array<{ name: string; redisUrl: string }>
  }
  const redis = createClient({ url: regions.find((region) => region.name === name)!.redisUrl })
  await redis.connect()
  try {
    return (await redis.exists(`ec:e:${path}`)) === 1
  } finally {
    await redis.quit()
  }
}

async function control(path: string, body?: unknown): Promise<void> {
  const response = await fetch(`${controlUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  expect(response.status, `${path}: ${await response.clone().text()}`).toBe(200)
  await response.arrayBuffer()
}

beforeEach(async () => {
  await control('/regions/reset')
  // Earlier load (other test files) may have opened a breaker: a health probe that reaches every
  // region closes them, so each test starts from a healthy geography.
  await until('every breaker closed', async () => {
    const regions = await regionsFrom('IAD')
    return regions.length > 0 && regions.every((probe) => probe.state === 'closed')
      ? true
      : undefined
  })
})

afterAll(async () => {
  // Leave a healthy geography to the next file.
  await settleRegions()
}, 30_000)

describe('L2 regions (e2e)', () => {
  it('an L1 miss in another colo of the region is an L2 hit from that region, without the origin', async () => {
    const path = freshPath()
    const first = await get(path, 'LHR')
    expect(first.cacheStatus).toMatch(/fwd=miss;.*stored/)
    const fetches = await originFetches()
    // The fill reaches L2 in the background: wait until another colo of eu-west sees it.
    const hit = await until('the L2 copy', async () => {
      const response = await get(path, 'CDG')
      return /hit/.test(response.cacheStatus) ? response : undefined
    })
    expect(hit.cacheStatus).toMatch(/; hit; .*detail=L2\/eu-west/)
    expect(hit.body).toBe(first.body)
    expect(await originFetches()).toBe(fetches)
    // ... and copied into CDG's L1.
    expect((await get(path, 'CDG')).cacheStatus).toMatch(/detail=(memory|L1)/)
  })

  it('a region fills its own L2: another region misses and goes to the origin once', async () => {
    const path = freshPath()
    await get(path, 'LHR')
    await until('the eu-west copy', async () =>
      /hit/.test((await get(path, 'FRA')).cacheStatus) ? true : undefined
    )
    const fromUs = await get(path, 'IAD')
    expect(fromUs.cacheStatus).toMatch(/fwd=miss/)
  })

  it('with eu-west stopped, eu-west clients fail over to another region, the breaker opens, and they return after restart', async () => {
    // The key is in the other two regions' L2, not in any eu-west tier.
    const path = freshPath()
    // Regions fill independently: each holds its own origin answer.
    const filled = [(await get(path, 'IAD')).body, (await get(path, 'SIN')).body]
    // Their L2 writes land after the answers (waitUntil): wait for them in Redis itself, without
    // reading through a colo (a colo that reads too early copies the fill into its own tiers).
    await until('the us-east and ap-south copies', async () =>
      (await inRegion('us-east', path)) && (await inRegion('ap-south', path)) ? true : undefined
    )

    await control('/regions/eu-west/stop')
    const fetches = await originFetches()
    const failover = await get(path, 'CDG')
    expect(failover.status).toBe(200)
    expect(failover.cacheStatus).toMatch(/; hit; .*detail=L2\/(us-east|ap-south)/)
    expect(filled).toContain(failover.body)
    expect(await originFetches()).toBe(fetches)

    // More eu-west traffic (every request a 200) until the breaker has opened.
    const open = await until('the eu-west breaker to open', async () => {
      const response = await get(freshPath(), 'FRA')
      expect(response.status).toBe(200)
      const regions = await regionsFrom('LHR')
      const euWest = regions.find((probe) => probe.region === 'eu-west')
      return euWest?.state === 'open' ? euWest : undefined
    })
    expect(open.ok).toBe(false)

    await control('/regions/eu-west/start')
    // After the cooldown a trial succeeds and eu-west serves its clients again.
    await until('eu-west to close', async () => {
      await get(freshPath(), 'LHR')
      const regions = await regionsFrom('LHR')
      return regions.find((probe) => probe.region === 'eu-west')?.state === 'closed'
        ? true
        : undefined
    })
    const back = freshPath()
    await get(back, 'LHR')
    const hit = await until('an eu-west L2 hit', async () => {
      const response = await get(back, 'CDG')
      return /hit/.test(response.cacheStatus) ? response : undefined
    })
    expect(hit.cacheStatus).toMatch(/detail=L2\/eu-west/)
  })

  it('with every region down, every request still succeeds from L1 or the origin', async () => {
    const cached = freshPath()
    await get(cached, 'LHR')
    for (const region of ['us-east', 'eu-west', 'ap-south'])
      await control(`/regions/${region}/stop`)

    const colos = ['IAD', 'LHR', 'CDG', 'SIN']
    const responses = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        get(i % 3 === 0 ? cached : freshPath(), colos[i % colos.length]!)
      )
    )
    expect(responses.map((response) => response.status)).toEqual(responses.map(() => 200))
    // The copy LHR filled is still served from LHR's own tiers.
    expect((await get(cached, 'LHR')).cacheStatus).toMatch(/; hit; .*detail=(memory|L1)/)
    const health = await fetch(`${workerUrl}/_cache/health`, {
      headers: { authorization: `Bearer ${adminToken}`, 'x-sim-colo': 'LHR' },
    })
    expect(health.status).toBe(503)
    await health.arrayBuffer()
  })
})
