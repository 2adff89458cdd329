/**
 * Miss-rate limits (`rateLimits[].counts = "origin"`): only requests that reach the origin count,
 * checked where the cache handler goes to the origin; hits never ask the limiter.
 */
import { runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import type { RateLimiter } from '../../durable-objects/rate-limiter'
import { parseConfig } from '../../src/config/load-config'
import {
  cacheStatus,
  envWithConfig,
  json,
  originControl,
  originStats,
  send,
} from '../helpers/worker'
import { hangingLimiter } from '../helpers/chaos-limiter'

function withMissRule(rule: Record<string, unknown>, bindings: Record<string, unknown> = {}) {
  const base = envWithConfig((config) => {
    config.rateLimits = [
      {
        name: 'misses',
        pattern: '/products/**',
        counts: 'origin',
        identity: { ip: true },
        windowSeconds: 60,
        ...rule,
      },
    ]
  })
  return { ...base, ...bindings }
}

const from = (ip: string, extra: Record<string, string> = {}) => ({
  headers: { 'cf-connecting-ip': ip, ...extra },
})

/** The real namespace, its lease requests counted (a hit must cost none). */
function counting() {
  const calls = { lease: 0 }
  const namespace = {
    idFromName: (name: string) => env.RATE_LIMITER!.idFromName(name),
    get: (id: DurableObjectId) => {
      const stub = env.RATE_LIMITER!.get(id)
      return {
        lease: ((...args) => {
          calls.lease++
          return stub.lease(...args)
        }) as typeof stub.lease,
        release: ((...args) => stub.release(...args)) as typeof stub.release,
      }
    },
  }
  return { calls, namespace }
}

const originFetches = async () => (await originStats()).fetches

describe('miss-rate limits', () => {
  it('rules count requests unless told otherwise; other values are refused', () => {
    const rule = { name: 'r', identity: { ip: true }, limit: 1, windowSeconds: 1 }
    const parse = (extra: Record<string, unknown>) =>
      parseConfig({
        ORIGIN_URL: 'https://api.example.com',
        CACHE_CONFIG: { routes: [{ pattern: '/**' }], rateLimits: [{ ...rule, ...extra }] },
      })
    expect(parse({}).rateLimits[0]!.counts).toBe('requests')
    expect(parse({ counts: 'origin' }).rateLimits[0]!.counts).toBe('origin')
    expect(() => parse({ counts: 'misses' })).toThrow(/rateLimits\[0\]\.counts/)
  })

  it('cuts misses at the limit with 429 and RateLimit fields; hits stay unlimited and never ask the limiter', async () => {
    const { calls, namespace } = counting()
    const bindings = withMissRule({ limit: 3, leaseSize: 1 }, { RATE_LIMITER: namespace })
    const get = (path: string) => send(path, from('203.0.113.10'), undefined, bindings)
    for (const [i, id] of [1, 2, 3].entries()) {
      const miss = await get(`/products/${id}`)
      expect(miss.status).toBe(200)
      expect(cacheStatus(miss)).toContain('fwd=miss')
      expect(miss.headers.get('ratelimit-policy')).toBe('"misses";q=3;w=60')
      // t: when the oldest admission leaves the 60 s window (a few seconds sooner once a busy
      // machine has taken that long over these misses).
      expect(miss.headers.get('ratelimit')).toMatch(new RegExp(`^"misses";r=${2 - i};t=(5\\d|60)$`))
    }
    const refused = await get('/products/4')
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(60)
    expect(refused.headers.get('ratelimit-policy')).toBe('"misses";q=3;w=60')
    expect(refused.headers.get('ratelimit')).toMatch(/^"misses";r=0;t=\d+$/)
    expect(await json(refused)).toMatchObject({ error: { code: 'rate_limited' } })
    expect(await originFetches()).toBe(3)
    expect(calls.lease).toBe(4)

    // The same client's hits: as many as it likes, no limiter round trip, no RateLimit fields.
    for (let i = 0; i < 20; i++) {
      const hit = await get(`/products/${(i % 3) + 1}`)
      expect(hit.status).toBe(200)
      expect(cacheStatus(hit)).toMatch(/; hit;/)
      expect(hit.headers.get('ratelimit')).toBeNull()
    }
    expect(calls.lease).toBe(4)
    expect(await originFetches()).toBe(3)
    // Another client has its own misses.
    expect((await send('/products/4', from('203.0.113.11'), undefined, bindings)).status).toBe(200)
  })

  it('admits exactly the limit of a concurrent flood of random ids; a legit client is unaffected', async () => {
    const bindings = withMissRule({ limit: 20 })
    const legit = (path: string) => send(path, from('198.51.100.50'), undefined, bindings)
    expect((await legit('/products/1')).status).toBe(200)
    const flood = await Promise.all(
      Array.from({ length: 200 }, () =>
        send(`/products/${crypto.randomUUID()}`, from('203.0.113.66'), undefined, bindings)
      )
    )
    // Admitted ones reach the origin and learn the id does not exist.
    expect(flood.filter((r) => r.status === 404)).toHaveLength(20)
    expect(flood.filter((r) => r.status === 429)).toHaveLength(180)
    const stats = await originStats()
    const productFetches = Object.entries(stats.byPath)
      .filter(([path]) => path.startsWith('/products/'))
      .reduce((sum, [, n]) => sum + n, 0)
    expect(productFetches).toBe(21)
    // The flooder's own hits still pass; the legit client still has misses and hits.
    expect((await send('/products/1', from('203.0.113.66'), undefined, bindings)).status).toBe(200)
    expect((await legit('/products/2')).status).toBe(200)
    expect((await legit('/products/1')).status).toBe(200)
  })

  it('counts every spelling of the path against the one limit', async () => {
    const bindings = withMissRule({ limit: 4 })
    const get = (path: string) => send(path, from('203.0.113.20'), undefined, bindings)
    // Decoded unreserved escapes, upper case (another route, same rule), an empty segment and a
    // segment parameter (ambiguous: passed through uncached, still reaching the origin).
    const spellings = ['/%70roducts/a1', '/PRODUCTS/a2', '/products//a3', '/products;x=1/a4']
    for (const path of spellings) expect((await get(path)).status, path).not.toBe(429)
    for (const path of ['/products/a5', '/Products/a6', '/products//a7', '/products;y/a8']) {
      expect((await get(path)).status, path).toBe(429)
    }
    expect(await originFetches()).toBe(4)
  })

  it('counts a HEAD miss against a rule on GET; a HEAD hit is not counted', async () => {
    const bindings = withMissRule({ limit: 2, methods: ['GET'] })
    const head = (path: string) =>
      send(path, { method: 'HEAD', ...from('203.0.113.30') }, undefined, bindings)
    const get = (path: string) => send(path, from('203.0.113.30'), undefined, bindings)
    expect((await head('/products/1')).status).toBe(200)
    expect((await get('/products/2')).status).toBe(200)
    expect((await head('/products/3')).status).toBe(429)
    expect((await get('/products/3')).status).toBe(429)
    for (let i = 0; i < 5; i++) {
      expect((await head('/products/1')).status).toBe(200)
      expect((await get('/products/2')).status).toBe(200)
    }
    expect(await originFetches()).toBe(2)
  })

  it('query variants that make new keys count; ones the key ignores are hits', async () => {
    const bindings = withMissRule({ limit: 2 })
    const get = (path: string) => send(path, from('203.0.113.40'), undefined, bindings)
    expect((await get('/products/1?v=1')).status).toBe(200)
    expect((await get('/products/1?v=2')).status).toBe(200)
    expect((await get('/products/1?v=3')).status).toBe(429)
    expect((await get('/products/1?v=3&v=4')).status).toBe(429)
    // utm_* is dropped from the route's key: the same key, a hit.
    const hit = await get('/products/1?v=1&utm_source=dodge')
    expect(hit.status).toBe(200)
    expect(cacheStatus(hit)).toMatch(/; hit;/)
    expect(await originFetches()).toBe(2)
  })

  it('identity comes from CF-Connecting-IP or the configured headers, not from headers a client adds', async () => {
    const byIp = withMissRule({ limit: 1 })
    const status = async (id: string, extra: Record<string, string>, bindings: object) =>
      (await send(`/products/${id}`, from('203.0.113.50', extra), undefined, bindings)).status
    expect(await status('b1', {}, byIp)).toBe(404)
    for (const header of ['x-forwarded-for', 'x-real-ip', 'true-client-ip', 'forwarded']) {
      expect(await status(`b-${header}`, { [header]: '192.0.2.99' }, byIp), header).toBe(429)
    }
    // An API-key identity hashed into one bucket: a fresh key per request buys nothing.
    const byKey = withMissRule({ limit: 2, identity: { headers: ['x-api-key'], buckets: 1 } })
    expect(await status('k1', { 'x-api-key': 'a' }, byKey)).toBe(404)
    expect(await status('k2', { 'x-api-key': 'b' }, byKey)).toBe(404)
    expect(await status('k3', { 'x-api-key': crypto.randomUUID() }, byKey)).toBe(429)
  })

  it('counts pass-through requests (they always reach the origin)', async () => {
    const bindings = withMissRule({ pattern: '/account/**', limit: 2 })
    const send_ = (init: RequestInit = {}) =>
      send('/account/me', { ...init, ...from('203.0.113.60') }, undefined, bindings)
    expect((await send_()).status).not.toBe(429)
    expect((await send_({ method: 'POST', body: '{}' })).status).not.toBe(429)
    expect((await send_()).status).toBe(429)
    expect(await originFetches()).toBe(2)
  })

  it('stale-while-revalidate copies and their background refreshes are not counted', async () => {
    const bindings = withMissRule({ pattern: '/echo/**', limit: 1 })
    const get = (path: string) => send(path, from('203.0.113.70'), undefined, bindings)
    const stale = '/echo/mrl-swr?h-cache-control=max-age%3D0%2C%20stale-while-revalidate%3D600'
    expect((await get(stale)).status).toBe(200)
    for (let i = 0; i < 3; i++) {
      const served = await get(stale)
      expect(served.status).toBe(200)
      expect(cacheStatus(served)).toContain('stale-while-revalidate')
    }
    // The refreshes reached the origin for the cache, not for the client: its one miss is spent
    // on the first request only, so the next miss is the one refused.
    expect((await originStats()).byPath['/echo/mrl-swr']).toBeGreaterThan(1)
    expect((await get('/echo/mrl-other')).status).toBe(429)
  })

  it('a coalesced follower gives its permit back: only the request that fetched counts', async () => {
    const bindings = withMissRule({ limit: 6 })
    const get = (path: string) => send(path, from('203.0.113.90'), undefined, bindings)
    // A slow origin, so that concurrent misses of one key meet in its Coalescer object.
    await originControl('latency', { ms: 300 })
    const burst = await Promise.all(Array.from({ length: 6 }, () => get('/products/1')))
    expect(burst.map((r) => r.status)).toEqual(new Array(6).fill(200))
    // However the burst was scheduled, exactly the requests that fetched keep their permits.
    const fetched = (await originStats()).fetches
    expect(burst.filter((r) => !cacheStatus(r).includes('collapsed'))).toHaveLength(fetched)
    await originControl('latency', { ms: 0 })
    for (let id = 2; id < 2 + 6 - fetched; id++) {
      expect((await get(`/products/${id}`)).status, `miss ${id}`).toBe(200)
    }
    expect((await get('/products/99')).status).toBe(429)
    expect((await originStats()).fetches).toBe(6)
  })

  it('the limiter forgets a given-back permit by its stamp, once', async () => {
    const stub = env.RATE_LIMITER!.get(env.RATE_LIMITER!.idFromName('forget-test'))
    await runInDurableObject(stub, async (limiter: RateLimiter) => {
      const rule = { limit: 2, windowMs: 60_000 }
      const t0 = 1_000_000
      const first = await limiter.lease(rule, { take: 1, hold: 1, returns: [] }, t0)
      expect(first).toMatchObject({ taken: 1, held: 1, remaining: 0, at: t0 })
      // The taken permit (stamped at the grant), then the held one (stamped at the lease's end).
      expect(await limiter.forget(rule, [first.at], t0 + 10)).toMatchObject({ remaining: 1 })
      expect(await limiter.forget(rule, [first.at], t0 + 10)).toMatchObject({ remaining: 1 })
      const held = first.at + first.leaseMs
      expect(await limiter.forget(rule, [held], t0 + 10)).toMatchObject({ remaining: 2 })
      // Its lease's return then finds nothing more to drop.
      await limiter.release(rule, [{ id: first.id, unused: 1 }], t0 + 20)
      const next = await limiter.lease(rule, { take: 2, hold: 0, returns: [] }, t0 + 30)
      expect(next).toMatchObject({ taken: 2, remaining: 0 })
    })
  })

  it('requests-counting rules still apply first; both rules show in the fields', async () => {
    const bindings = envWithConfig((config) => {
      config.rateLimits = [
        {
          name: 'all',
          pattern: '/products/**',
          identity: { ip: true },
          limit: 100,
          windowSeconds: 60,
        },
        {
          name: 'misses',
          pattern: '/products/**',
          counts: 'origin',
          identity: { ip: true },
          limit: 1,
          windowSeconds: 60,
        },
      ]
    })
    const get = (path: string) => send(path, from('203.0.113.80'), undefined, bindings)
    const miss = await get('/products/1')
    expect(miss.headers.get('ratelimit-policy')).toBe('"all";q=100;w=60, "misses";q=1;w=60')
    // t: when the oldest admission leaves the 60 s window (a few seconds sooner once a busy machine
    // has taken that long over these requests).
    expect(miss.headers.get('ratelimit')).toMatch(
      /^"all";r=99;t=(5\d|60), "misses";r=0;t=(5\d|60)$/
    )
    const hit = await get('/products/1')
    expect(hit.headers.get('ratelimit')).toMatch(/^"all";r=98;t=(5\d|60)$/)
    const refused = await get('/products/2')
    expect(refused.status).toBe(429)
    expect(refused.headers.get('ratelimit')).toMatch(/^"all";r=97;t=(5\d|60), "misses";r=0;t=\d+$/)
  })

  describe('when the limiter cannot answer in time', () => {
    const hanging = hangingLimiter()

    it('fails open: misses reach the origin, without RateLimit fields', async () => {
      const bindings = withMissRule({ limit: 1, timeoutMs: 50 }, { RATE_LIMITER: hanging })
      for (const id of [1, 2, 3]) {
        const response = await send(`/products/${id}`, from('192.0.2.1'), undefined, bindings)
        expect(response.status).toBe(200)
        expect(response.headers.get('ratelimit')).toBeNull()
      }
      expect(await originFetches()).toBe(3)
    })

    it('fails closed: misses get 503 without an origin fetch, hits are still served', async () => {
      // Cached first, through a config without the rule (the Cache API is shared by both).
      expect((await send('/products/5', from('192.0.2.1'))).status).toBe(200)
      const bindings = withMissRule(
        { limit: 1, timeoutMs: 50, failMode: 'closed' },
        { RATE_LIMITER: hanging }
      )
      const miss = await send('/products/6', from('192.0.2.1'), undefined, bindings)
      expect(miss.status).toBe(503)
      expect(miss.headers.get('retry-after')).toBe('1')
      expect(await json(miss)).toMatchObject({ error: { code: 'rate_limiter_unavailable' } })
      const hit = await send('/products/5', from('192.0.2.1'), undefined, bindings)
      expect(hit.status).toBe(200)
      expect(cacheStatus(hit)).toMatch(/; hit;/)
      expect(await originFetches()).toBe(1)
    })
  })
})
