import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import type { RateLimiter } from '../../durable-objects/rate-limiter'
import { envWithConfig, json, originStats, send } from '../helpers/worker'
import { hangingLimiter } from '../helpers/chaos-limiter'

function withRule(rule: Record<string, unknown>, bindings: Record<string, unknown> = {}) {
  const base = envWithConfig((config) => {
    config.rateLimits = [{ name: 'test', pattern: '/products/**', identity: { ip: true }, ...rule }]
  })
  return { ...base, ...bindings }
}

const from = (ip: string, extra: Record<string, string> = {}) => ({
  headers: { 'cf-connecting-ip': ip, ...extra },
})

// 1000 requests through one Durable Object: seconds on a busy machine, far past vitest's default 5 s.
const HEAVY_TIMEOUT_MS = 60_000

describe('rate limiting (RateLimiter Durable Object)', () => {
  it(
    'admits exactly the limit of 1000 concurrent requests from one identity',
    async () => {
      // Exactness, not deadlines (tested below): 1000 calls queue at one object, and on a busy
      // machine the last wait past the default 500 ms, which fail open by design.
      const bindings = withRule({ limit: 100, windowSeconds: 60, timeoutMs: 10_000 })
      const started = Date.now()
      const responses = await Promise.all(
        Array.from({ length: 1000 }, () =>
          send('/products/1', from('203.0.113.7'), undefined, bindings)
        )
      )
      const elapsedSeconds = Math.ceil((Date.now() - started) / 1000)
      const admitted = responses.filter((r) => r.status === 200)
      const rejected = responses.filter((r) => r.status === 429)
      expect(admitted).toHaveLength(100)
      expect(rejected).toHaveLength(900)
      for (const response of rejected) {
        const retryAfter = Number(response.headers.get('retry-after'))
        // The first admission leaves the 60 s window a minute after it was made, during the burst
        // (however long a busy machine makes that take).
        expect(retryAfter).toBeGreaterThanOrEqual(Math.min(50, 60 - elapsedSeconds - 1))
        expect(retryAfter).toBeLessThanOrEqual(60)
        expect(response.headers.get('ratelimit-policy')).toBe('"test";q=100;w=60')
        expect(response.headers.get('ratelimit')).toMatch(/^"test";r=0;t=\d+$/)
      }
      expect(await json(rejected[0]!)).toMatchObject({ error: { code: 'rate_limited' } })
      expect(admitted[0]!.headers.get('ratelimit')).toMatch(/^"test";r=\d+;t=\d+$/)
      // Rejections never reach the cache or the origin: at most the admitted ones did.
      expect((await originStats()).fetches).toBeLessThanOrEqual(100)
    },
    HEAVY_TIMEOUT_MS
  )

  it('slides: a slot frees exactly when the oldest admission leaves the window', async () => {
    const stub = env.RATE_LIMITER!.get(env.RATE_LIMITER!.idFromName('slide-test'))
    await runInDurableObject(stub, async (limiter: RateLimiter) => {
      const rule = { limit: 3, windowMs: 10_000 }
      const t0 = 1_000_000
      for (const t of [t0, t0 + 1000, t0 + 2000])
        expect((await limiter.hit(rule, t)).allowed).toBe(true)
      const full = await limiter.hit(rule, t0 + 5000)
      expect(full).toMatchObject({ allowed: false, remaining: 0, resetMs: 5000 })
      // The window is (now - W, now]: t0 counts until t0 + W, exactly when resetMs said.
      expect((await limiter.hit(rule, t0 + 9_999)).allowed).toBe(false)
      const freed = await limiter.hit(rule, t0 + 10_000)
      expect(freed).toMatchObject({ allowed: true, remaining: 0, resetMs: 1000 })
      expect((await limiter.hit(rule, t0 + 10_999)).allowed).toBe(false)
      expect((await limiter.hit(rule, t0 + 11_000)).allowed).toBe(true)
    })
  })

  it('keeps identities apart', async () => {
    const bindings = withRule({ limit: 2, windowSeconds: 60 })
    for (let i = 0; i < 3; i++) await send('/products/2', from('198.51.100.1'), undefined, bindings)
    expect((await send('/products/2', from('198.51.100.1'), undefined, bindings)).status).toBe(429)
    expect((await send('/products/2', from('198.51.100.2'), undefined, bindings)).status).toBe(200)
  })

  it('identifies by a header (an API key), huge or empty values included', async () => {
    const bindings = withRule({ limit: 1, windowSeconds: 60, identity: { headers: ['x-api-key'] } })
    const huge = 'k'.repeat(8000)
    expect(
      (await send('/products/3', from('1.1.1.1', { 'x-api-key': huge }), undefined, bindings))
        .status
    ).toBe(200)
    expect(
      (await send('/products/3', from('1.1.1.1', { 'x-api-key': huge }), undefined, bindings))
        .status
    ).toBe(429)
    expect(
      (await send('/products/3', from('1.1.1.1', { 'x-api-key': '' }), undefined, bindings)).status
    ).toBe(200)
    expect(
      (await send('/products/3', from('1.1.1.1', { 'x-api-key': 'other' }), undefined, bindings))
        .status
    ).toBe(200)
  })

  it('counts a HEAD against a rule on GET (it is answered from the GET entry)', async () => {
    const bindings = withRule({ limit: 1, windowSeconds: 60, methods: ['GET'] })
    expect((await send('/products/7', from('192.0.2.20'), undefined, bindings)).status).toBe(200)
    const head = await send(
      '/products/7',
      { method: 'HEAD', ...from('192.0.2.20') },
      undefined,
      bindings
    )
    expect(head.status).toBe(429)
    const first = await send(
      '/products/7',
      { method: 'HEAD', ...from('192.0.2.21') },
      undefined,
      bindings
    )
    expect(first.status).toBe(200)
    // t: the window's 60 s less the limiter's round trip (a second or more on a busy machine).
    expect(first.headers.get('ratelimit')).toMatch(/^"test";r=0;t=(5\d|60)$/)
    expect((await send('/products/7', from('192.0.2.21'), undefined, bindings)).status).toBe(429)
  })

  it('counts an IPv6 client per /64, however the address is spelled', async () => {
    const bindings = withRule({ limit: 1, windowSeconds: 60 })
    const status = async (ip: string) =>
      (await send('/products/8', from(ip), undefined, bindings)).status
    expect(await status('2001:db8:1:2::1')).toBe(200)
    // Other hosts of the same /64, other spellings: one identity.
    expect(await status('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe(429)
    expect(await status('2001:0DB8:0001:0002:0:0:0:ffff')).toBe(429)
    // The next /64 is another client.
    expect(await status('2001:db8:1:3::1')).toBe(200)
    // IPv4-mapped IPv6 is the IPv4 address.
    expect(await status('198.51.100.30')).toBe(200)
    expect(await status('::ffff:198.51.100.30')).toBe(429)
  })

  it('counts per exact IPv6 address with ipv6Prefix 128', async () => {
    const bindings = withRule({
      limit: 1,
      windowSeconds: 60,
      identity: { ip: true, ipv6Prefix: 128 },
    })
    const status = async (ip: string) =>
      (await send('/products/9', from(ip), undefined, bindings)).status
    expect(await status('2001:db8:1:2::1')).toBe(200)
    expect(await status('2001:db8:1:2::2')).toBe(200)
    expect(await status('2001:db8:1:2:0::1')).toBe(429)
  })

  it('bounds header identities: with one bucket, every API key shares the limit', async () => {
    const bindings = withRule({
      limit: 2,
      windowSeconds: 60,
      identity: { headers: ['x-api-key'], buckets: 1 },
    })
    const status = async (key: string) =>
      (await send('/products/10', from('192.0.2.40', { 'x-api-key': key }), undefined, bindings))
        .status
    expect(await status('key-a')).toBe(200)
    expect(await status('key-b')).toBe(200)
    // A fresh key per request no longer buys a fresh window.
    expect(await status(crypto.randomUUID())).toBe(429)
    expect(await status('key-a')).toBe(429)
  })

  it('does not count requests the rule does not match', async () => {
    const bindings = withRule({ limit: 1, windowSeconds: 60, methods: ['POST'] })
    for (let i = 0; i < 3; i++) {
      const response = await send('/products/4', from('192.0.2.9'), undefined, bindings)
      expect(response.status).toBe(200)
      expect(response.headers.get('ratelimit')).toBeNull()
    }
  })

  describe('when the limiter cannot answer in time', () => {
    const hanging = hangingLimiter()

    it('fails open: the request is served, without RateLimit fields', async () => {
      const bindings = withRule(
        { limit: 1, windowSeconds: 60, timeoutMs: 50 },
        { RATE_LIMITER: hanging }
      )
      for (let i = 0; i < 2; i++) {
        const response = await send('/products/5', from('192.0.2.1'), undefined, bindings)
        expect(response.status).toBe(200)
        expect(response.headers.get('ratelimit')).toBeNull()
      }
    })

    it('fails closed: 503 with Retry-After, and the origin is not asked', async () => {
      const bindings = withRule(
        { limit: 1, windowSeconds: 60, timeoutMs: 50, failMode: 'closed' },
        { RATE_LIMITER: hanging }
      )
      const response = await send('/products/6', from('192.0.2.1'), undefined, bindings)
      expect(response.status).toBe(503)
      expect(response.headers.get('retry-after')).toBe('1')
      expect(await json(response)).toMatchObject({ error: { code: 'rate_limiter_unavailable' } })
      expect((await originStats()).fetches).toBe(0)
    })
  })

  describe('permit leases', () => {
    /** The real namespace, its lease requests counted. */
    function counting() {
      const calls = { lease: 0, release: 0 }
      const namespace = {
        idFromName: (name: string) => env.RATE_LIMITER!.idFromName(name),
        get: (id: DurableObjectId) => {
          const stub = env.RATE_LIMITER!.get(id)
          return {
            lease: ((...args) => {
              calls.lease++
              return stub.lease(...args)
            }) as typeof stub.lease,
            release: ((...args) => {
              calls.release++
              return stub.release(...args)
            }) as typeof stub.release,
          }
        },
      }
      return { calls, namespace }
    }

    it('a hot identity asks the limiter at most once per leaseSize requests (every time with 1)', async () => {
      const counts: Record<number, number> = {}
      for (const leaseSize of [8, 1]) {
        const { calls, namespace } = counting()
        const bindings = withRule(
          { limit: 10_000, windowSeconds: 3600, leaseSize },
          { RATE_LIMITER: namespace }
        )
        for (let i = 0; i < 200; i++) {
          const response = await send(
            '/products/11',
            from(`192.0.2.5${leaseSize}`),
            undefined,
            bindings
          )
          expect(response.status).toBe(200)
          // Exact in one isolate: never more than is left.
          expect(response.headers.get('ratelimit')).toMatch(
            new RegExp(`^"test";r=${10_000 - i - 1};t=\\d+$`)
          )
        }
        counts[leaseSize] = calls.lease
      }
      // 200 requests: at most 200/8 = 25 leases of 8 plus the renewal the last ones started in the
      // background; renewals sized by demand (a lease lasts 10 s here) make it fewer.
      expect(counts[1]).toBe(200)
      expect(counts[8]).toBeGreaterThanOrEqual(1)
      expect(counts[8]).toBeLessThanOrEqual(26)
    })

    it('a limiter that fails during a lease request follows the fail policy (closed: 503)', async () => {
      const failing = {
        idFromName: (name: string) => env.RATE_LIMITER!.idFromName(name),
        get: () => ({
          lease: () => Promise.reject(new Error('limiter down')),
          release: () => Promise.reject(new Error('limiter down')),
        }),
      }
      const closed = withRule(
        { limit: 5, windowSeconds: 60, failMode: 'closed' },
        { RATE_LIMITER: failing }
      )
      const responses = await Promise.all(
        Array.from({ length: 20 }, () =>
          send('/products/12', from('192.0.2.60'), undefined, closed)
        )
      )
      expect(responses.map((r) => r.status)).toEqual(new Array(20).fill(503))
      const open = withRule({ limit: 5, windowSeconds: 60 }, { RATE_LIMITER: failing })
      expect((await send('/products/12', from('192.0.2.60'), undefined, open)).status).toBe(200)
    })
  })

  it('sets its alarm about once a window, not once per lease, always past the newest stamp', async () => {
    const stub = env.RATE_LIMITER!.get(env.RATE_LIMITER!.idFromName(`alarm-slack-${Date.now()}`))
    const rule = { limit: 1000, windowMs: 60_000 }
    const lease = () =>
      runInDurableObject(stub, (limiter: RateLimiter) =>
        limiter.lease(rule, { take: 1, hold: 7, returns: [] })
      )
    const alarm = () =>
      runInDurableObject(stub, (_limiter: RateLimiter, state) => state.storage.getAlarm())
    const first = await lease()
    const scheduled = await alarm()
    // The held permits are stamped at the lease's end: the alarm follows that stamp by a window.
    expect(scheduled).toBeGreaterThanOrEqual(first.at + first.leaseMs + rule.windowMs)
    const second = await lease()
    expect(await alarm()).toBe(scheduled)
    expect(scheduled).toBeGreaterThanOrEqual(second.at + second.leaseMs + rule.windowMs)
  })

  it('forgets an identity after its window (the alarm deletes its state)', async () => {
    const stub = env.RATE_LIMITER!.get(env.RATE_LIMITER!.idFromName('alarm-test'))
    await runInDurableObject(stub, (limiter: RateLimiter) =>
      limiter.hit({ limit: 5, windowMs: 60_000 })
    )
    expect(await runDurableObjectAlarm(stub)).toBe(true)
    const keys = await runInDurableObject(stub, async (_limiter: RateLimiter, state) =>
      state.storage.list()
    )
    expect(keys.size).toBe(0)
  })
})
