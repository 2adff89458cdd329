import { afterEach, describe, expect, it } from 'vitest'
import { copyDraw } from '../../src/proxy/cache-handler'
import { simulateTime, type SimulatedTime } from '../helpers/simulated-time'
import {
  cacheStatus,
  echo,
  envWithConfig,
  json,
  originControl,
  originStats,
  send,
  sleep,
} from '../helpers/worker'

/** Set by tests that run in simulated time; the real clock is back after each. */
let time: SimulatedTime | undefined
afterEach(() => {
  time?.restore()
  time = undefined
})

describe('origin circuit breaker', () => {
  it('origin down: every key within stale-if-error is served, origin calls limited to the breaker', async () => {
    const bindings = envWithConfig((config) => {
      // The fills are out of its window by the time the origin fails: three failures over three keys.
      config.origin = {
        breaker: { minRequests: 3, minKeys: 3, windowMs: 1000, cooldownMs: 60_000 },
      }
    })
    const paths = Array.from({ length: 6 }, (_, i) =>
      echo(`down-${i}`, { 'cache-control': 'max-age=1, stale-if-error=300' })
    )
    for (const path of paths) expect((await send(path, {}, undefined, bindings)).status).toBe(200)
    await sleep(1100)
    const before = (await originStats()).fetches
    await originControl('fail', { mode: 'error' })

    const responses = []
    for (let round = 0; round < 5; round++) {
      for (const path of paths) responses.push(await send(path, {}, undefined, bindings))
    }
    for (const response of responses) {
      expect(response.status).toBe(200)
      expect(cacheStatus(response)).toContain('detail=stale-if-error')
    }
    // 30 requests, but the origin saw only what opened this isolate's breaker (3 failures over 3
    // keys); each Coalescer object has its own breaker, and sees too few keys to open it.
    const calls = (await originStats()).fetches - before
    expect(calls).toBeGreaterThanOrEqual(3)
    expect(calls).toBeLessThanOrEqual(5)

    // A key with no copy gets a quick 503, without an origin call (the bound includes the request's
    // background work, a metrics flush among it, and is generous for a busy machine).
    const started = Date.now()
    const cold = await send(echo('down-cold'), {}, undefined, bindings)
    expect(cold.status).toBe(503)
    expect(Date.now() - started).toBeLessThan(5000)
    expect((await originStats()).fetches - before).toBe(calls)
    await originControl('fail', { mode: 'off' })
  })

  it('half-open: after the cooldown one probe goes through and closes it', async () => {
    const bindings = envWithConfig((config) => {
      config.origin = { breaker: { minRequests: 2, minKeys: 2, cooldownMs: 500 } }
    })
    await originControl('fail', { mode: 'error' })
    for (let i = 0; i < 4; i++) await send(echo(`probe-${i}`), {}, undefined, bindings)
    const failing = (await originStats()).fetches
    expect(failing).toBeLessThanOrEqual(3)
    await originControl('fail', { mode: 'off' })
    await sleep(600)
    const probe = await send(
      echo('probe-ok', { 'cache-control': 'max-age=60' }),
      {},
      undefined,
      bindings
    )
    expect(probe.status).toBe(200)
    const next = await send(
      echo('probe-ok-2', { 'cache-control': 'max-age=60' }),
      {},
      undefined,
      bindings
    )
    expect(next.status).toBe(200)
  })
})

describe('negative caching', () => {
  it('a flood of 404s for a missing item reaches the origin once', async () => {
    await originControl('latency', { ms: 100 })
    const path = echo('missing', {}, 'status=404')
    const flood = await Promise.all(Array.from({ length: 200 }, () => send(path)))
    expect(flood.every((response) => response.status === 404)).toBe(true)
    const later = await send(path)
    expect(later.status).toBe(404)
    expect(cacheStatus(later)).toMatch(/hit; ttl=\d+/)
    expect((await originStats()).byPath['/echo/missing']).toBe(1)
  })

  it('is configurable: ttlSeconds 0 turns it off', async () => {
    const bindings = envWithConfig((config) => {
      config.negativeCache = { ttlSeconds: 0 }
    })
    const path = echo('missing-off', {}, 'status=404')
    await send(path, {}, undefined, bindings)
    await send(path, {}, undefined, bindings)
    expect((await originStats()).byPath['/echo/missing-off']).toBe(2)
  })

  it('never stores a private 404', async () => {
    const path = echo('missing-private', { 'cache-control': 'private' }, 'status=404')
    await send(path)
    await send(path)
    expect((await originStats()).byPath['/echo/missing-private']).toBe(2)
  })
})

describe('XFetch early refresh', () => {
  it("refreshes a fresh hot key once, from its copy's instant on, through the background path", async () => {
    time = simulateTime({ originMs: 100 })
    const path = echo('xfetch', { 'cache-control': 'max-age=2' })
    const first = await json<{ id: string }>(await send(path))
    // The copy: stored as the 100 ms fetch answered, fresh for 2 s; one XFetch draw for it (β = 1).
    const storedAt = time.now()
    const due = Math.ceil(storedAt + 2000 + 100 * Math.log(copyDraw(path, { storedAt })))
    expect(due).toBeGreaterThan(storedAt)
    const hits = async () => {
      const responses = await Promise.all(Array.from({ length: 20 }, () => send(path)))
      for (const response of responses) {
        expect(cacheStatus(response)).toMatch(/hit; ttl=\d+/)
        expect((await json<{ id: string }>(response)).id).toBe(first.id)
      }
    }
    time.advance(due - 1 - time.now())
    await hits()
    expect((await originStats()).byPath['/echo/xfetch']).toBe(1)
    // Its instant: one early refresh for all 20 hits, every one still answered from the copy.
    time.advance(1)
    await hits()
    expect((await originStats()).byPath['/echo/xfetch']).toBe(2)
  })

  it('draws once per copy: uniform, and the same wherever the copy is read', () => {
    const draws = Array.from({ length: 20_000 }, (_, i) => copyDraw('/k', { storedAt: 1e12 + i }))
    for (const u of draws) expect(u > 0 && u <= 1).toBe(true)
    const mean = draws.reduce((sum, u) => sum + u, 0) / draws.length
    expect(mean).toBeGreaterThan(0.49)
    expect(mean).toBeLessThan(0.51)
    // −ln u is XFetch's exponential: its mean is 1 (a copy is due fetchMs·β early on average).
    const early = draws.reduce((sum, u) => sum - Math.log(u), 0) / draws.length
    expect(early).toBeGreaterThan(0.97)
    expect(early).toBeLessThan(1.03)
    expect(copyDraw('/k', { storedAt: 1e12 })).toBe(draws[0])
    expect(copyDraw('/other', { storedAt: 1e12 })).not.toBe(draws[0])
  })

  it('does nothing when turned off', async () => {
    const bindings = envWithConfig((config) => {
      config.xfetch = { enabled: false }
    })
    const path = echo('xfetch-off', { 'cache-control': 'max-age=2' })
    await send(path, {}, undefined, bindings)
    await Promise.all(Array.from({ length: 20 }, () => send(path, {}, undefined, bindings)))
    expect((await originStats()).byPath['/echo/xfetch-off']).toBe(1)
  })
})

describe('a hot key across many expiries', () => {
  it(
    'never shows a client a miss; origin fetches ≈ run time / TTL',
    { timeout: 30_000 },
    async () => {
      await originControl('latency', { ms: 50 })
      const path = echo('hot', { 'cache-control': 'max-age=1, stale-while-revalidate=30' })
      await send(path)
      const started = Date.now()
      let misses = 0
      let requests = 0
      // At least 5 s and more than 50 requests (a busy machine takes longer to send them).
      while (Date.now() - started < 5000 || requests <= 50) {
        const response = await send(path)
        requests++
        if (!cacheStatus(response).includes('; hit;')) misses++
        await sleep(20)
      }
      const seconds = (Date.now() - started) / 1000
      expect(requests).toBeGreaterThan(50)
      expect(misses).toBe(0)
      const fetches = (await originStats()).byPath['/echo/hot']!
      // 5 s with a 1 s TTL: about 5 refreshes (+ the first miss), early ones included; at most two
      // a second (+ 2) of however long the run took: 12 for 5 s.
      expect(fetches).toBeGreaterThanOrEqual(4)
      expect(fetches).toBeLessThanOrEqual(2 * Math.round(seconds) + 2)
    }
  )
})

describe('a hot key across many expiries, in simulated time', () => {
  /** The bench's route for its expiry scenario (tools/simulate/scenarios.ts): a 1 s TTL, stale windows. */
  const simRoute = (patch: (config: Record<string, unknown>) => void = () => {}) =>
    envWithConfig((config) => {
      config.routes = [
        { pattern: '/echo/sim/**', ttl: 1, staleWhileRevalidate: 30, staleIfError: 300 },
        ...(config.routes as unknown[]),
      ]
      patch(config)
    })

  /**
   * The bench's expiry scenario counted instead of timed: a 100 ms origin, 600 requests/s (3 every
   * 5 ms) spread over `isolates` isolates (each its own memory tier and refresh map; one L1 and one
   * Coalescer domain), for `seconds` after the first fill.
   */
  async function hotKey(options: { isolates: number; seed: number; seconds: number }) {
    time = simulateTime({ originMs: 100, seed: options.seed })
    const isolates = Array.from({ length: options.isolates }, () => simRoute())
    const path = '/echo/sim/hot'
    await send(path, {}, undefined, isolates[0])
    const filled = time.now()
    const notHits: string[] = []
    let requests = 0
    while (time.now() < filled + options.seconds * 1000) {
      time.advance(5)
      const batch = await Promise.all(
        Array.from({ length: 3 }, () =>
          send(path, {}, undefined, isolates[requests++ % isolates.length])
        )
      )
      for (const response of batch) {
        if (!cacheStatus(response).includes('; hit;')) notHits.push(cacheStatus(response))
      }
    }
    return { fetches: (await originStats()).byPath[path]!, requests, notHits }
  }

  for (const isolates of [1, 2]) {
    for (const seed of [1, 2, 3]) {
      it(`one origin fetch per expiry, no client miss (${isolates} isolate(s), seed ${seed})`, async () => {
        const run = await hotKey({ isolates, seed, seconds: 6 })
        expect(run.requests).toBeGreaterThan(2000)
        expect(run.notHits).toEqual([])
        // The first fill, then one refresh per 1 s expiry. A new XFetch draw on every hit fired the
        // earliest of ~600 draws/s, about 450 ms early: 10 to 11 fetches here (17 with 2 isolates,
        // each refreshing the same expiry).
        expect(run.fetches).toBeLessThanOrEqual(6 + 1)
      })
    }
  }

  it('an isolate still holding the copy another one refreshed gets that refresh, not the origin', async () => {
    time = simulateTime({ originMs: 100 })
    // Stale-while-revalidate refreshes only (no XFetch draw), in two isolates sharing L1.
    const noEarly = (config: Record<string, unknown>) => {
      config.xfetch = { enabled: false }
    }
    const [a, b] = [simRoute(noEarly), simRoute(noEarly)]
    const path = '/echo/sim/other-isolate'
    const first = await json<{ id: string }>(await send(path, {}, undefined, a))
    // B reads the copy late in its life: B's memory tier keeps it for a second from now.
    time.advance(900)
    expect(cacheStatus(await send(path, {}, undefined, b))).toContain('hit')
    // Expired: A serves it stale and refreshes it (A's memory copy is gone; L1's is the same copy).
    time.advance(200)
    const stale = await send(path, {}, undefined, a)
    expect(cacheStatus(stale)).toContain('stale-while-revalidate')
    expect((await json<{ id: string }>(stale)).id).toBe(first.id)
    expect((await originStats()).byPath[path]).toBe(2)
    // B still has the old copy: stale to B too, and B's refresh is answered by A's from the Coalescer.
    time.advance(50)
    expect(cacheStatus(await send(path, {}, undefined, b))).toContain('stale-while-revalidate')
    expect((await originStats()).byPath[path]).toBe(2)
    const refreshed = await send(path, {}, undefined, b)
    expect(cacheStatus(refreshed)).toMatch(/hit; ttl=\d+; detail=memory$/)
    expect((await json<{ id: string }>(refreshed)).id).not.toBe(first.id)
  })
})
