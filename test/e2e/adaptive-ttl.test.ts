/**
 * Adaptive TTL by popularity on a `wrangler dev` of its own (no L2), whose CACHE_CONFIG adds an
 * `adaptiveTtl` route: the Coalescer objects are real Durable Objects behind real RPC, and the
 * isolate's counts of hits reach them with the next fill.
 */
import path from 'node:path'
import { unstable_readConfig } from 'wrangler'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { REPO_ROOT, startWranglerDev, type WranglerDev } from '../../tools/lib/wrangler-dev'

const run = crypto.randomUUID().slice(0, 8)
const CEILING = 60

let worker: WranglerDev | undefined

beforeAll(async () => {
  const { vars } = unstable_readConfig({ config: path.join(REPO_ROOT, 'wrangler.toml') })
  const config = structuredClone(vars.CACHE_CONFIG) as Record<string, unknown>
  config.routes = [
    {
      pattern: '/echo/adaptive-e2e/**',
      adaptiveTtl: { ceilingSeconds: CEILING, coldPerMinute: 2, hotPerMinute: 30 },
    },
    ...(config.routes as unknown[]),
  ]
  worker = await startWranglerDev({
    name: 'worker-adaptive-ttl',
    configPath: 'wrangler.toml',
    quiet: true,
    readyPath: '/_cache/health',
    vars: {
      ORIGIN_URL: inject('originUrl'),
      ADMIN_TOKEN: inject('adminToken'),
      CACHE_CONFIG: JSON.stringify(config),
    },
  })
}, 120_000)

afterAll(async () => {
  await worker?.stop()
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function get(url: string): Promise<string> {
  const response = await fetch(`${worker!.url}${url}`)
  await response.arrayBuffer()
  expect(response.status).toBe(200)
  return response.headers.get('cache-status') ?? ''
}

/** The `ttl` of every answer that stored a fill. */
function fillTtls(statuses: string[]): number[] {
  return statuses
    .filter((status) => status.includes('; stored'))
    .map((status) => Number(/; ttl=(-?\d+)/.exec(status)![1]))
}

/** One request, `hits` more, then (past the floor's 1 s) one more: what each answer said. */
async function readMany(url: string, hits: number): Promise<string[]> {
  const statuses = [await get(url)]
  for (let i = 0; i < hits; i++) statuses.push(await get(url))
  // Past the cold copy's freshness (half of max-age=2): a fill follows, unless a hot copy is in.
  await sleep(1200)
  statuses.push(await get(url))
  return statuses
}

describe('adaptive TTL by popularity (wrangler dev)', () => {
  it('a hot key is kept fresh up to the ceiling, a cold one for half its max-age', async () => {
    // Half of max-age=20, less the copy's initial age (its fetch and the origin's whole-second
    // Date: a second or two on a busy machine); unadapted it would be about 20, lengthened up to 60.
    const cold = await get(`/echo/adaptive-e2e/cold-${run}?h-cache-control=max-age%3D20`)
    expect(cold).toMatch(/fwd=miss; ttl=([89]|10); stored; popularity=\d+$/)

    const hot = await readMany(`/echo/adaptive-e2e/hot-${run}?h-cache-control=max-age%3D2`, 60)
    const ttls = fillTtls(hot)
    // The first fill was cold (half of max-age=2, less its initial age: 1, or 0 once the fetch and
    // the origin's whole-second Date add up to a second); a later one carried the counted hits to the
    // Coalescer: lengthened past the origin's max-age (how far depends on how many hits it had
    // counted by then).
    expect(ttls[0]).toBeLessThanOrEqual(1)
    expect(Math.max(...ttls)).toBeGreaterThan(2)
    expect(Math.max(...ttls)).toBeLessThanOrEqual(CEILING)
    for (const status of hot)
      expect(Number(/; ttl=(-?\d+)/.exec(status)![1])).toBeLessThanOrEqual(CEILING)
  })

  it('as hot under must-revalidate: never past the origin’s max-age', async () => {
    const statuses = await readMany(
      `/echo/adaptive-e2e/must-${run}?h-cache-control=max-age%3D2%2C%20must-revalidate`,
      60
    )
    const ttls = fillTtls(statuses)
    expect(ttls.length).toBeGreaterThanOrEqual(2)
    for (const ttl of ttls) expect(ttl).toBeLessThanOrEqual(2)
    expect(statuses.at(-1)).toMatch(/popularity=\d+/)
  })
})
