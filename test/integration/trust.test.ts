import { describe, expect, it } from 'vitest'
import {
  admin,
  cacheStatus,
  echo,
  envWithConfig,
  json,
  originControl,
  originStats,
  send,
  sleep,
} from '../helpers/worker'

type Echo = { id: string; path: string; headers: Record<string, string> }

const LAST_MODIFIED = 'Wed, 01 Jan 2025 00:00:00 GMT'

describe('malformed directives take their strictest reading', () => {
  it.each([
    'private max-age=0',
    'no-store;',
    'no-cache; no-store',
    'private;',
    'max-age=60 private',
    'public, max-age=60, private="x',
    'max-age=60;s-maxage=60',
    'PRIVATE max-age=60',
  ])('%s with Last-Modified is never shared', async (value) => {
    const path = echo('malformed', { 'cache-control': value, 'last-modified': LAST_MODIFIED })
    const first = await json<Echo>(await send(path))
    const second = await send(path)
    expect(cacheStatus(second)).not.toContain('hit')
    expect((await json<Echo>(second)).id).not.toBe(first.id)
  })

  it('a malformed Cache-Control is not stored even under a route ttl', async () => {
    const bindings = envWithConfig((config) => {
      ;(config.routes as unknown[]).unshift({ pattern: '/echo/ttl-*', ttl: 60 })
    })
    const path = echo('ttl-malformed', { 'cache-control': 'private max-age=0' })
    const first = await json<Echo>(await send(path, {}, undefined, bindings))
    const second = await json<Echo>(await send(path, {}, undefined, bindings))
    expect(second.id).not.toBe(first.id)
  })

  it('Surrogate-Control or CDN-Cache-Control no-store is honoured', async () => {
    for (const field of ['surrogate-control', 'cdn-cache-control']) {
      const path = echo(`targeted-${field}`, { 'cache-control': 'max-age=60', [field]: 'no-store' })
      await send(path)
      expect(cacheStatus(await send(path))).toContain('detail=no-store')
    }
  })

  it('an invalid CDN-Cache-Control is ignored as a whole (RFC 9213 §2.1): Cache-Control decides', async () => {
    const invalid = 'max-age=60;no-store garbage'
    const refused = echo('targeted-invalid-private', {
      'cache-control': 'private',
      'cdn-cache-control': invalid,
    })
    await send(refused)
    expect(cacheStatus(await send(refused))).not.toContain('hit')
    const malformed = echo('targeted-invalid-malformed', {
      'cache-control': 'max-age=60 private',
      'cdn-cache-control': invalid,
    })
    await send(malformed)
    expect(cacheStatus(await send(malformed))).not.toContain('hit')
    const shared = echo('targeted-invalid-public', {
      'cache-control': 'public, max-age=60',
      'cdn-cache-control': 'no-store, Max-Age=60',
    })
    await send(shared)
    expect(cacheStatus(await send(shared))).toContain('hit')
  })

  it('Pragma: no-cache stands in for a missing Cache-Control (stored, revalidated every time)', async () => {
    const path = echo('pragma', { pragma: 'no-cache', 'last-modified': LAST_MODIFIED })
    await send(path)
    expect(cacheStatus(await send(path))).not.toMatch(/hit/)
  })

  it('a clean header with an empty list element is still read', async () => {
    const path = echo('empty-element', { 'cache-control': 'max-age=60,, public,' })
    await send(path)
    expect(cacheStatus(await send(path))).toContain('hit')
  })
})

describe('one normalised path for routes, rules, key and origin', () => {
  // Each spelling resolves (URL parser + RFC 3986 normalisation) to the plain /products/1.
  const PRODUCT_SPELLINGS = [
    '/%70roducts/1',
    '/pr%6Fducts/1',
    '/products/%31',
    '/%70%72%6f%64%75%63%74%73/%31',
    '/%70%72%6F%64%75%63%74%73/1',
    '/products/./1',
    '/products/x/../1',
    '/./products/1',
    '/products/%2e/1',
    '/products/%2E%2E/products/1',
    '/a/b/../../products/1',
    '/products\\1',
    '/prod\tucts/1',
    '/products/1#fragment',
    '/products/1?utm_source=mail',
    '/products/1?fbclid=x&gclid=y',
    '/%2e/products/1',
    '/products/%2e%2e/products/%31',
  ]

  it.each(PRODUCT_SPELLINGS)('%s lands on /products/1: same route, tags, key', async (spelling) => {
    // The odd spelling fills; the plain one must be a hit of the same entry.
    const odd = await send(spelling)
    expect(odd.status).toBe(200)
    expect((await originStats()).byPath['/products/1']).toBe(1)
    const plain = await send('/products/1')
    expect(cacheStatus(plain)).toContain('hit')
    expect((await originStats()).fetches).toBe(1)
    // The route's tag came with it: a tag purge reaches the copy the odd spelling stored.
    const purge = await admin('/purge', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tags: ['catalogue'] }),
    })
    expect(purge.status).toBe(200)
    expect(cacheStatus(await send('/products/1'))).toContain('fwd=miss')
  })

  it('an absolute-form target lands on the same key', async () => {
    await send('/products/1')
    const absolute = await send('/products/1', {}, 'http://evil.example')
    expect(cacheStatus(absolute)).toContain('hit')
  })

  it.each(['/%61ccount/x', '/acc%6Funt/x', '/account/./x', '/x/../account/x'])(
    '%s takes the bypass route',
    async (spelling) => {
      const response = await send(spelling)
      expect(cacheStatus(response)).toBe('edge-cache; fwd=bypass; detail=route')
    }
  )

  // Absolute URLs: the test's own URL resolution would read `//x` as an authority.
  const at = (path: string) => `https://cache.test${path}`

  it.each(['/account%2Fx', '/account%2fx', '/products%2F1', '/products;v=1/1', '//account/x'])(
    '%s (an ambiguous path) is never cached',
    async (spelling) => {
      const first = await send(at(spelling))
      expect(cacheStatus(first)).toMatch(/fwd=bypass; detail=(ambiguous-path|route)/)
      expect(cacheStatus(await send(at(spelling)))).not.toContain('hit')
    }
  )

  it.each([
    '/%73earch',
    '/se%61rch',
    '/SEARCH',
    '/Search',
    '/search/',
    '/search;x=1',
    '//search',
    '/x/../search',
    '/./search',
    '/%2e/search',
    '/search%2F',
  ])('%s is counted by the /search rule', async (spelling) => {
    const response = await send(at(`${spelling}?q=a`), {
      headers: { 'cf-connecting-ip': '192.0.2.7' },
    })
    expect(response.headers.get('ratelimit-policy')).toContain('search-per-ip')
  })

  it('a HEAD is counted by a GET-only rule', async () => {
    const bindings = envWithConfig((config) => {
      config.rateLimits = [
        {
          name: 'get-only',
          pattern: '/products/**',
          methods: ['GET'],
          limit: 2,
          windowSeconds: 60,
          identity: { ip: true },
        },
      ]
    })
    const headers = { 'cf-connecting-ip': '192.0.2.8' }
    const statuses = []
    for (let i = 0; i < 3; i++) {
      statuses.push(
        (await send('/products/1', { method: 'HEAD', headers }, undefined, bindings)).status
      )
    }
    expect(statuses).toEqual([200, 200, 429])
  })
})

describe('no client can open the origin breaker', () => {
  it('a flood of 500s on many URLs leaves every other miss served', async () => {
    for (let i = 0; i < 40; i++) {
      const response = await send(echo(`boom-${i % 8}`, {}, `status=500&i=${i}`))
      expect(response.status).toBe(500)
    }
    const other = await send(echo('innocent', { 'cache-control': 'max-age=60' }))
    expect(other.status).toBe(200)
  })

  it('a 500 with explicit freshness is stored and served like any answer', async () => {
    const path = echo('stored-500', { 'cache-control': 'max-age=60' }, 'status=500')
    const first = await send(path)
    expect(first.status).toBe(500)
    expect(cacheStatus(first)).toContain('stored')
    const second = await send(path)
    expect(second.status).toBe(500)
    expect(cacheStatus(second)).toContain('hit')
    expect((await originStats()).fetches).toBe(1)
  })

  it('one URL failing with 503, however often, does not open it', async () => {
    for (let i = 0; i < 40; i++) await send(echo('one-503', {}, 'status=503'))
    expect((await send(echo('after-503', { 'cache-control': 'max-age=60' }))).status).toBe(200)
  })

  it('a real outage over many keys opens it: quick 503s, origin spared', async () => {
    const bindings = envWithConfig((config) => {
      config.origin = { breaker: { minRequests: 10, minKeys: 5, cooldownMs: 60_000 } }
    })
    await originControl('fail', { mode: 'error' })
    for (let i = 0; i < 12; i++) await send(echo(`outage-${i}`), {}, undefined, bindings)
    const before = (await originStats()).fetches
    const cold = await send(echo('outage-cold'), {}, undefined, bindings)
    expect(cold.status).toBe(503)
    expect(await cold.text()).toContain('origin_unavailable')
    expect((await originStats()).fetches).toBe(before)
    await originControl('fail', { mode: 'off' })
  })

  it('a hung origin over many keys opens it too', async () => {
    const bindings = envWithConfig((config) => {
      config.origin = {
        timeoutMs: 200,
        breaker: { minRequests: 6, minKeys: 3, cooldownMs: 60_000 },
      }
    })
    await originControl('fail', { mode: 'hang' })
    const hung = await Promise.all(
      Array.from({ length: 6 }, (_, i) => send(echo(`hung-${i}`), {}, undefined, bindings))
    )
    expect(hung.map((response) => response.status)).toEqual(Array(6).fill(504))
    const cold = await send(echo('hung-cold'), {}, undefined, bindings)
    expect(cold.status).toBe(503)
    await originControl('fail', { mode: 'off' })
  })
})

describe('updates of a stored copy re-check storability', () => {
  it('a 304 that says private retires the shared copy', async () => {
    const path = echo(
      'reval-private',
      { 'cache-control': 'max-age=1', etag: '"v1"' },
      `h304-cache-control=${encodeURIComponent('private, max-age=60')}`
    )
    const first = await json<Echo>(await send(path))
    await sleep(1100)
    const revalidated = await send(path)
    expect(cacheStatus(revalidated)).toContain('fwd-status=304')
    expect(cacheStatus(revalidated)).not.toContain('stored')
    expect(revalidated.headers.get('cache-control')).toContain('private')
    // The next client does not get the copy the 304 made private.
    const next = await send(path)
    expect(cacheStatus(next)).not.toContain('hit')
    expect((await json<Echo>(next)).id).not.toBe(first.id)
  })

  it('a refresh whose answer is now no-store deletes the stored copy', async () => {
    const path = echo(
      'flip',
      { 'cache-control': 'max-age=1, stale-while-revalidate=60' },
      `h2-cache-control=${encodeURIComponent('no-store')}`
    )
    const first = await json<Echo>(await send(path))
    await sleep(1100)
    // A stale hit: served at once, refreshed in the background; the origin now says no-store.
    const stale = await send(path)
    expect(cacheStatus(stale)).toContain('stale-while-revalidate')
    expect((await originStats()).fetches).toBe(2)
    // The copy is gone: the next request is not served the old answer.
    const next = await send(path)
    expect(cacheStatus(next)).not.toContain('hit')
    expect((await json<Echo>(next)).id).not.toBe(first.id)
  })
})

describe('conditionals apply to 2xx answers only', () => {
  it('a cached 404 answers If-None-Match: * with the 404, not a 304', async () => {
    const path = echo('gone', {}, 'status=404')
    await send(path)
    const conditional = await send(path, { headers: { 'if-none-match': '*' } })
    expect(conditional.status).toBe(404)
    expect(cacheStatus(conditional)).toContain('hit')
  })

  it('a cached 200 still answers If-None-Match: * with a 304', async () => {
    const path = echo('present', { 'cache-control': 'max-age=60' })
    await send(path)
    expect((await send(path, { headers: { 'if-none-match': '*' } })).status).toBe(304)
  })
})

describe('s-maxage carries proxy-revalidate', () => {
  it('route stale defaults do not serve an s-maxage copy stale', async () => {
    const bindings = envWithConfig((config) => {
      ;(config.routes as unknown[]).unshift({
        pattern: '/echo/smax*',
        staleWhileRevalidate: 60,
        staleIfError: 600,
      })
    })
    const path = echo('smax', { 'cache-control': 's-maxage=1' })
    await send(path, {}, undefined, bindings)
    await sleep(1100)
    await originControl('fail', { mode: 'error' })
    const stale = await send(path, {}, undefined, bindings)
    expect(stale.status).toBe(503)
    expect(cacheStatus(stale)).not.toContain('stale')
    await originControl('fail', { mode: 'off' })
  })

  it('the origin’s own stale-if-error still applies beside s-maxage', async () => {
    const path = echo('smax-sie', { 'cache-control': 's-maxage=1, stale-if-error=600' })
    await send(path)
    await sleep(1100)
    await originControl('fail', { mode: 'error' })
    const stale = await send(path)
    expect(stale.status).toBe(200)
    expect(cacheStatus(stale)).toContain('stale-if-error')
    await originControl('fail', { mode: 'off' })
  })
})
