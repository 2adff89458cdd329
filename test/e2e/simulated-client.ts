/**
 * What the e2e files share: requests from a simulated colo, the demo origin's counters, and clients
 * for the simulated regions' redis-servers.
 */
import { createClient } from 'redis'
import { afterAll, beforeAll, inject } from 'vitest'
import { requestPurge, type PurgeBody } from '../../tools/lib/purge-request'

export interface SimulatedResponse {
  status: number
  cacheStatus: string
  body: string
}

/** GET through the Worker as a client at `colo` (x-sim-colo: each colo has its own L1 and memory). */
export async function getAt(path: string, colo: string): Promise<SimulatedResponse> {
  const response = await fetch(`${inject('workerUrl')}${path}`, {
    headers: { 'x-sim-colo': colo },
  })
  const body = await response.text()
  return { status: response.status, cacheStatus: response.headers.get('cache-status') ?? '', body }
}

/** POST /_cache/purge with the admin token as a client at `colo`; the answer unread. */
export function purgeAt(body: PurgeBody, colo = 'LHR'): Promise<Response> {
  return requestPurge(inject('workerUrl'), inject('adminToken'), body, colo)
}

/** How many requests the demo origin has answered since its last reset. */
export async function originFetches(): Promise<number> {
  const response = await fetch(`${inject('originUrl')}/__origin/stats`)
  const stats = (await response.json()) as { fetches: number }
  return stats.fetches
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `fn` every 100 ms until it returns a value; throws naming `what` after `ms`. */
export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  ms = 15_000
): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await fn()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

/** The L2 regions as this Worker isolate sees them from `colo` (its health probe). */
export async function regionsFrom(
  colo: string
): Promise<{ region: string; ok: boolean; state: 'closed' | 'open' | 'half-open' }[]> {
  const response = await fetch(`${inject('workerUrl')}/_cache/health`, {
    headers: { authorization: `Bearer ${inject('adminToken')}`, 'x-sim-colo': colo },
  })
  const health = (await response.json()) as {
    l2?: { regions: { region: string; ok: boolean; state: 'closed' | 'open' | 'half-open' }[] }
  }
  return health.l2?.regions ?? []
}

/**
 * A healthy geography for the next test: every region up, every breaker of the Worker's isolate
 * closed (its health probe reaching a region closes it), and one breaker cooldown
 * (l2.breaker.cooldownMs, 5 s) for the Coalescer objects' own breakers, which no probe reaches.
 */
export async function settleRegions(): Promise<void> {
  const response = await fetch(`${inject('regionsControlUrl')}/regions/reset`, { method: 'POST' })
  await response.arrayBuffer()
  await until('every breaker closed', async () => {
    const regions = await regionsFrom('SIN')
    return regions.length > 0 && regions.every((r) => r.state === 'closed') ? true : undefined
  })
  await sleep(5000)
}

/** A connected client for one region's redis-server. */
const connect = (url: string) => createClient({ url }).connect()
export type RegionRedis = Awaited<ReturnType<typeof connect>>

/**
 * A client for every simulated region's redis-server, for the calling test file: its beforeAll
 * settles the regions (settleRegions) and connects one client per region, in the control API's
 * order; its afterAll closes them. The returned list is filled once beforeAll has run.
 */
export function connectRegionsForFile(): { name: string; redis: RegionRedis }[] {
  const regions: { name: string; redis: RegionRedis }[] = []
  beforeAll(async () => {
    await settleRegions()
    const listed = (await (await fetch(`${inject('regionsControlUrl')}/regions`)).json()) as {
      regions: Array<{ name: string; redisUrl: string }>
    }
    for (const { name, redisUrl } of listed.regions) {
      regions.push({ name, redis: await connect(redisUrl) })
    }
  })
  afterAll(async () => {
    await Promise.all(regions.map(({ redis }) => redis.quit()))
  })
  return regions
}
