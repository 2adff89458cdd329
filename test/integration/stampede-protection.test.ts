import { describe, expect, it } from 'vitest'
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

    // A key with no copy gets a quick 503, without an origin call.
    const started = Date.now()
    const cold = await send(echo('down-cold'), {}, undefined, bindings)
    expect(cold.status).toBe(503)
    expect(Date.now() - started).toBeLessThan(500)
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
  it('refreshes a fresh hot key early, once, through the background path', async () => {
    await originControl('latency', { ms: 200 })
    // β = 50 with a 200 ms fetch: the rule fires on practically every hit of a 2 s entry.
    const bindings = envWithConfig((config) => {
      config.xfetch = { beta: 50 }
    })
    const path = echo('xfetch', { 'cache-control': 'max-age=2' })
    const first = await json<{ id: string }>(await send(path, {}, undefined, bindings))
    const hits = await Promise.all(
      Array.from({ length: 20 }, () => send(path, {}, undefined, bindings))
    )
    for (const hit of hits) {
      expect(cacheStatus(hit)).toMatch(/hit; ttl=\d+/)
      expect((await json<{ id: string }>(hit)).id).toBe(first.id)
    }
    // The miss, then one early refresh for all 20 hits.
    expect((await originStats()).byPath['/echo/xfetch']).toBe(2)
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
      while (Date.now() - started < 5000) {
        const response = await send(path)
        requests++
        if (!cacheStatus(response).includes('; hit;')) misses++
        await sleep(20)
      }
      expect(requests).toBeGreaterThan(50)
      expect(misses).toBe(0)
      const fetches = (await originStats()).byPath['/echo/hot']!
      // 5 s with a 1 s TTL: about 5 refreshes (+ the first miss), early ones included.
      expect(fetches).toBeGreaterThanOrEqual(4)
      expect(fetches).toBeLessThanOrEqual(12)
    }
  )
})
