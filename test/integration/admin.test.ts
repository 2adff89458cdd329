import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import { parseConfig } from '../../src/config/load-config'
import {
  ADMIN_TOKEN,
  admin,
  envWithConfig,
  json,
  originStats,
  send,
  sleep,
} from '../helpers/worker'

const purge = (
  body: string,
  token: string | null = 'test-admin-token',
  type = 'application/json'
) => admin('/purge', { method: 'POST', headers: { 'content-type': type }, body }, token)

describe('admin API', () => {
  it('rejects a missing or wrong token with 401 and changes nothing', async () => {
    await send('/products/11')
    for (const token of [null, 'wrong', 'test-admin-token-but-longer', '']) {
      const response = await purge(JSON.stringify({ urls: ['/products/11'] }), token)
      expect(response.status).toBe(401)
      expect(response.headers.get('www-authenticate')).toContain('Bearer')
    }
    expect((await admin('/health', {}, null)).status).toBe(401)
    expect((await send('/products/11')).headers.get('cache-status')).toContain('hit')
  })

  it('reports health with a valid token', async () => {
    const response = await admin('/health')
    expect(response.status).toBe(200)
    expect(await json(response)).toMatchObject({
      status: 'ok',
      tiers: [
        { tier: 'memory', ok: true },
        { tier: 'L1', ok: true },
      ],
      origin: 'http://origin.test',
    })
  })

  it.each([
    ['malformed JSON', '{"urls": ['],
    ['wrong type', JSON.stringify({ urls: '/products/1' })],
    ['unknown field', JSON.stringify({ urls: ['/products/1'], everything: true })],
    ['empty list', JSON.stringify({ urls: [] })],
    ['not a URL', JSON.stringify({ urls: ['products/1'] })],
    [
      'too many',
      JSON.stringify({ urls: Array.from({ length: 1001 }, (_, i) => `/products/${i}`) }),
    ],
  ])('rejects %s with 400 and purges nothing', async (_name, body) => {
    await send('/products/12')
    const response = await purge(body)
    expect(response.status).toBe(400)
    expect(await json(response)).toMatchObject({ error: { code: 'invalid_request' } })
    expect((await send('/products/12')).headers.get('cache-status')).toContain('hit')
  })

  it('rejects a non-JSON content type with 415 and an oversized body with 413', async () => {
    const wrongType = await purge('{"urls":["/x"]}', 'test-admin-token', 'text/plain')
    expect(wrongType.status).toBe(415)
    expect(await json(wrongType)).toMatchObject({ error: { code: 'unsupported_media_type' } })
    const huge = JSON.stringify({ urls: ['/' + 'x'.repeat(70 * 1024)] })
    const tooLarge = await purge(huge)
    expect(tooLarge.status).toBe(413)
    expect(await json(tooLarge)).toMatchObject({ error: { code: 'payload_too_large' } })
  })

  it('purges URLs from L1', async () => {
    await send('/products/13')
    const response = await purge(
      JSON.stringify({ urls: ['/products/13', 'https://any.host/products/14', '/account'] })
    )
    expect(response.status).toBe(200)
    const body = await json<{
      purged: number
      results: Array<{ cacheable: boolean; deleted: boolean }>
    }>(response)
    expect(body.purged).toBe(1)
    expect(body.results.map((r) => [r.cacheable, r.deleted])).toEqual([
      [true, true],
      [true, false],
      [false, false],
    ])
    expect((await send('/products/13')).headers.get('cache-status')).toContain('fwd=miss')
  })

  it('answers unknown admin paths with a JSON 404', async () => {
    const response = await admin('/nope')
    expect(response.status).toBe(404)
  })
})

/** One admin call from `ip` (CF-Connecting-IP), with `token` as bearer unless null. */
function from(
  ip: string,
  token: string | null,
  path = '/health',
  bindings?: object,
  base?: string
): Promise<Response> {
  const headers = new Headers({ 'cf-connecting-ip': ip })
  if (token !== null) headers.set('authorization', `Bearer ${token}`)
  return send(`/_cache${path}`, { headers }, base, bindings)
}

const withAdmin = (settings: Record<string, unknown>, bindings: Record<string, unknown> = {}) => ({
  ...envWithConfig((config) => {
    config.admin = settings
  }),
  ...bindings,
})

describe('admin token guessing (failures per client IP, RateLimiter Durable Object)', () => {
  it('refuses a client past 10 failures in 60 s with 429, without checking even the right token', async () => {
    for (let i = 0; i < 10; i++) expect((await from('203.0.113.50', `guess-${i}`)).status).toBe(401)
    const refused = await from('203.0.113.50', 'guess-10')
    expect(refused.status).toBe(429)
    const retryAfter = Number(refused.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(60)
    expect(await json(refused)).toMatchObject({ error: { code: 'too_many_auth_failures' } })
    // A correct guess after the budget is refused too: guessing past it learns nothing.
    expect((await from('203.0.113.50', ADMIN_TOKEN)).status).toBe(429)
    expect((await from('203.0.113.50', null, '/purge')).status).toBe(429)
    // Other clients are not affected.
    expect((await from('203.0.113.51', ADMIN_TOKEN)).status).toBe(200)
  })

  it('cuts a burst of concurrent guesses at the budget too', async () => {
    const burst = await Promise.all(
      Array.from({ length: 30 }, (_, i) => from('203.0.113.53', `burst-${i}`))
    )
    const statuses = burst.map((response) => response.status)
    expect(statuses.filter((status) => status === 401)).toHaveLength(10)
    expect(statuses.filter((status) => status === 429)).toHaveLength(20)
    expect((await from('203.0.113.53', ADMIN_TOKEN)).status).toBe(429)
  })

  it('counts an IPv6 client per /64', async () => {
    for (let i = 0; i < 10; i++) {
      const ip = `2001:db8:77:1:${i.toString(16)}::1`
      expect((await from(ip, 'wrong')).status).toBe(401)
    }
    expect((await from('2001:DB8:77:1:ffff:ffff:ffff:ffff', ADMIN_TOKEN)).status).toBe(429)
    expect((await from('::ffff:203.0.113.52', ADMIN_TOKEN)).status).toBe(200)
    expect((await from('2001:db8:77:2::1', ADMIN_TOKEN)).status).toBe(200)
  })

  it('counts metrics-token failures in the same budget as admin-token ones', async () => {
    const bindings = withAdmin(
      { authFailures: { limit: 3, windowSeconds: 60 } },
      { METRICS_TOKEN: 'test-metrics-token' }
    )
    expect((await from('198.51.100.60', 'wrong', '/metrics', bindings)).status).toBe(401)
    expect((await from('198.51.100.60', null, '/stats', bindings)).status).toBe(401)
    expect((await from('198.51.100.60', 'wrong', '/health', bindings)).status).toBe(401)
    for (const [path, token] of [
      ['/metrics', 'test-metrics-token'],
      ['/stats', ADMIN_TOKEN],
      ['/health', ADMIN_TOKEN],
    ] as const) {
      const response = await from('198.51.100.60', token, path, bindings)
      expect(response.status).toBe(429)
      expect(response.headers.get('retry-after')).toMatch(/^\d+$/)
    }
    expect((await from('198.51.100.61', 'test-metrics-token', '/metrics', bindings)).status).toBe(
      200
    )
  })

  it('admits the client again once its oldest failure leaves the window', async () => {
    const bindings = withAdmin({ authFailures: { limit: 2, windowSeconds: 1 } })
    expect((await from('198.51.100.70', 'wrong', '/health', bindings)).status).toBe(401)
    expect((await from('198.51.100.70', 'wrong', '/health', bindings)).status).toBe(401)
    const refused = await from('198.51.100.70', ADMIN_TOKEN, '/health', bindings)
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toBe('1')
    await sleep(1100)
    expect((await from('198.51.100.70', ADMIN_TOKEN, '/health', bindings)).status).toBe(200)
  })

  it('successes cost nothing: an admin is never throttled for using the right token', async () => {
    const bindings = withAdmin({ authFailures: { limit: 1, windowSeconds: 60 } })
    for (let i = 0; i < 5; i++)
      expect((await from('198.51.100.80', ADMIN_TOKEN, '/health', bindings)).status).toBe(200)
  })

  describe('when the limiter cannot answer (fails open: never locks the admins out)', () => {
    const never = () => new Promise<never>(() => {})
    const limiters: Record<string, unknown> = {
      hanging: { idFromName: (name: string) => name, get: () => ({ hit: never, refund: never }) },
      throwing: {
        idFromName: (name: string) => name,
        get: () => {
          throw new Error('limiter down')
        },
      },
      missing: undefined,
    }

    it.each(Object.keys(limiters))(
      '%s limiter: tokens are still checked, and logged',
      async (kind) => {
        const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
        try {
          const bindings = withAdmin(
            { authFailures: { limit: 1, windowSeconds: 60, timeoutMs: 50 } },
            { RATE_LIMITER: limiters[kind] }
          )
          for (let i = 0; i < 3; i++)
            expect((await from('198.51.100.90', 'wrong', '/health', bindings)).status).toBe(401)
          expect((await from('198.51.100.90', ADMIN_TOKEN, '/health', bindings)).status).toBe(200)
          expect(
            errors.mock.calls.some(([line]) =>
              String(line).includes('admin_auth_limiter_unavailable')
            )
          ).toBe(true)
        } finally {
          errors.mockRestore()
        }
      }
    )
  })
})

describe('admin.hostname', () => {
  const bindings = withAdmin({ hostname: 'Admin.Example.com' })

  it('answers /_cache/* only on that hostname; elsewhere a 404 that never reaches the origin', async () => {
    for (const path of [
      '',
      '/',
      '/health',
      '/purge',
      '/metrics',
      '/stats',
      '/dashboard',
      '/nope',
    ]) {
      const response = await from('192.0.2.100', ADMIN_TOKEN, path, bindings, 'https://cache.test')
      expect(response.status).toBe(404)
      expect(await json(response)).toMatchObject({ error: { code: 'not_found' } })
    }
    expect((await originStats()).fetches).toBe(0)
    const there = await from(
      '192.0.2.100',
      ADMIN_TOKEN,
      '/health',
      bindings,
      'https://admin.example.com'
    )
    expect(there.status).toBe(200)
    // The rest of the API is served on every hostname as before.
    expect((await send('/products/20', {}, 'https://cache.test', bindings)).status).toBe(200)
  })

  it('is validated as a hostname', () => {
    const parse = (admin: unknown) =>
      parseConfig({ ...env, CACHE_CONFIG: { routes: [{ pattern: '/**' }], admin } })
    expect(parse({}).admin).toEqual({
      authFailures: { limit: 10, windowSeconds: 60, timeoutMs: 500 },
    })
    expect(parse({ hostname: 'Admin.Example.COM' }).admin.hostname).toBe('admin.example.com')
    for (const hostname of ['https://admin.example.com', 'a..b', 'admin.example.com/x', '-a.b', ''])
      expect(() => parse({ hostname })).toThrow(/CACHE_CONFIG\.admin\.hostname/)
  })
})
