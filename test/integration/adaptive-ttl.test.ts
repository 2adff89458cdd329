/**
 * Adaptive TTL by popularity (routes[].adaptiveTtl), through the Worker, its Coalescer objects and
 * the demo origin, in simulated time: the counts, not the machine's speed, decide every figure.
 */
import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it } from 'vitest'
import { coalescerName } from '../../src/coalesce/shard'
import { simulateTime, type SimulatedTime } from '../helpers/simulated-time'
import { cacheStatus, echo, envWithConfig, originStats, send } from '../helpers/worker'

let time: SimulatedTime | undefined
afterEach(() => {
  time?.restore()
  time = undefined
})

const CEILING = 30

/** `/echo/adaptive/**` adapts freshness: cold at or below 2 requests a minute, hot from 30. */
function adaptiveEnv(patch: (config: Record<string, unknown>) => void = () => {}) {
  return envWithConfig((config) => {
    config.routes = [
      {
        pattern: '/echo/adaptive/**',
        adaptiveTtl: { ceilingSeconds: CEILING, coldPerMinute: 2, hotPerMinute: 30 },
      },
      ...(config.routes as unknown[]),
    ]
    patch(config)
  })
}

function ttlOf(response: Response): number {
  const match = /; ttl=(-?\d+)/.exec(cacheStatus(response))
  if (!match) throw new Error(`no ttl in ${cacheStatus(response)}`)
  return Number(match[1])
}

/**
 * The first fill, `hits` more requests (hits in memory), then past the copy's freshness: the next
 * request is a miss whose fill carries the counted requests. Returns that refill's answer.
 */
async function refillAfter(path: string, hits: number, bindings: object): Promise<Response> {
  const first = await send(path, {}, undefined, bindings)
  expect(first.status).toBe(200)
  for (let i = 0; i < hits; i++) await send(path, {}, undefined, bindings)
  // Past any ceiling: the copy is stale, whatever freshness it was given.
  time!.advance((CEILING + 1) * 1000)
  return send(path, {}, undefined, bindings)
}

describe('adaptive TTL by popularity', () => {
  it('a hot key gets longer freshness than a cold one, within the ceiling', async () => {
    time = simulateTime({ originMs: 20 })
    const bindings = adaptiveEnv()
    const hot = echo('adaptive/hot', { 'cache-control': 'max-age=4' })
    const cold = echo('adaptive/cold', { 'cache-control': 'max-age=4' })

    // A key's first request: about 0.7 a minute counted, cold: half of max-age (floorShare 0.5).
    const first = await send(cold, {}, undefined, bindings)
    expect(cacheStatus(first)).toMatch(/fwd=miss; ttl=2; stored; popularity=1$/)

    const hotRefill = await refillAfter(hot, 100, bindings)
    expect(cacheStatus(hotRefill)).toMatch(
      /fwd=stale; fwd-status=200; ttl=\d+; stored; popularity=\d+$/
    )
    expect(ttlOf(hotRefill)).toBe(CEILING)
    // The counted requests reached the key's Coalescer object with the refill.
    const popularity = Number(/popularity=(\d+)/.exec(cacheStatus(hotRefill))![1])
    expect(popularity).toBeGreaterThan(30)
    // Hits show the adapted freshness too: it is the stored copy's.
    time.advance(5000)
    const hit = await send(hot, {}, undefined, bindings)
    expect(cacheStatus(hit)).toMatch(/; hit; ttl=\d+; detail=(memory|L1)$/)
    expect(ttlOf(hit)).toBe(CEILING - 5)

    const coldRefill = await refillAfter(cold, 0, bindings)
    expect(ttlOf(coldRefill)).toBe(2)
    expect((await originStats()).byPath['/echo/adaptive/hot']).toBe(2)
  })

  it('a 304 revalidation takes the adapted lifetime as well', async () => {
    time = simulateTime({ originMs: 20 })
    const bindings = adaptiveEnv()
    const path = echo('adaptive/etag', { 'cache-control': 'max-age=4', etag: '"v1"' })
    const refill = await refillAfter(path, 100, bindings)
    expect(cacheStatus(refill)).toMatch(/fwd=stale; fwd-status=304; ttl=30; stored; popularity=/)
    expect((await originStats()).notModified).toBe(1)
  })

  it('never lengthens past what the origin allows, however hot', async () => {
    time = simulateTime({ originMs: 20 })
    const bindings = adaptiveEnv()
    const cases: Array<[string, Record<string, string>, number]> = [
      ['must', { 'cache-control': 'max-age=4, must-revalidate' }, 4],
      ['proxy', { 'cache-control': 'max-age=4, proxy-revalidate' }, 4],
      ['smaxage', { 'cache-control': 's-maxage=4' }, 4],
      // Stored only with a validator: every use is a revalidation, each one still fresh for 0 s.
      ['nocache', { 'cache-control': 'no-cache, max-age=60', etag: '"n1"' }, 0],
    ]
    for (const [name, headers, most] of cases) {
      const refill = await refillAfter(echo(`adaptive/${name}`, headers), 200, bindings)
      expect(refill.status).toBe(200)
      expect(cacheStatus(refill)).toMatch(/popularity=\d+/)
      expect(ttlOf(refill), name).toBeLessThanOrEqual(most)
    }
  })

  it('a client hammering one key cannot push its freshness past the ceiling', async () => {
    time = simulateTime({ originMs: 20 })
    const bindings = adaptiveEnv()
    const path = echo('adaptive/hammered', { 'cache-control': 'max-age=4' })
    await send(path, {}, undefined, bindings)
    // 2000 requests at once, then again after each refill: the estimate soars, freshness does not.
    for (let round = 0; round < 3; round++) {
      const burst = await Promise.all(
        Array.from({ length: 2000 }, () => send(path, {}, undefined, bindings))
      )
      expect(burst.every((response) => response.status === 200)).toBe(true)
      for (const response of burst) expect(ttlOf(response)).toBeLessThanOrEqual(CEILING)
      time.advance((CEILING + 1) * 1000)
      const refill = await send(path, {}, undefined, bindings)
      expect(ttlOf(refill)).toBe(CEILING)
      expect(Number(/popularity=(\d+)/.exec(cacheStatus(refill))![1])).toBeGreaterThan(1000)
    }
  })

  it('many distinct keys leave the Coalescer objects’ memory fixed, and each of them cold', async () => {
    time = simulateTime({ originMs: 1 })
    const bindings = adaptiveEnv()
    const paths = Array.from({ length: 300 }, (_, i) => `/echo/adaptive/flood-${i}`)
    for (let i = 0; i < paths.length; i += 50)
      await Promise.all(paths.slice(i, i + 50).map((path) => send(path, {}, undefined, bindings)))
    const shards = new Set<string>()
    for (const path of paths)
      shards.add(coalescerName(path, { shards: 64, domain: 'region' }, undefined))
    expect(shards.size).toBeGreaterThan(32)
    for (const name of shards) {
      const stub = env.COALESCER.get(env.COALESCER.idFromName(name))
      const { bytes } = await stub.popularity('/echo/adaptive/flood-0', 60)
      // One fixed-size sketch per object (4 × 1024 counters), however many keys it saw.
      expect(bytes).toBe(4 * 1024 * 8)
    }
    const name = coalescerName(paths[0]!, { shards: 64, domain: 'region' }, undefined)
    const stub = env.COALESCER.get(env.COALESCER.idFromName(name))
    expect((await stub.popularity(paths[0]!, 60)).perMinute).toBeLessThan(2)
  })

  it('with coalescing off, the isolate estimates for its own fills', async () => {
    time = simulateTime({ originMs: 20 })
    const bindings = adaptiveEnv((config) => {
      config.coalescer = { enabled: false }
    })
    const refill = await refillAfter(
      echo('adaptive/direct', { 'cache-control': 'max-age=4' }),
      100,
      bindings
    )
    expect(ttlOf(refill)).toBe(CEILING)
    expect(cacheStatus(refill)).toMatch(/popularity=\d+/)
  })

  it('routes without adaptiveTtl are left alone', async () => {
    time = simulateTime({ originMs: 20 })
    const bindings = adaptiveEnv()
    const path = echo('plain-hot', { 'cache-control': 'max-age=4' })
    await send(path, {}, undefined, bindings)
    for (let i = 0; i < 100; i++) await send(path, {}, undefined, bindings)
    time.advance(5000)
    const refill = await send(path, {}, undefined, bindings)
    expect(ttlOf(refill)).toBe(4)
    expect(cacheStatus(refill)).not.toContain('popularity')
  })
})
