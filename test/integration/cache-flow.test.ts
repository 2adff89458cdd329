import { describe, expect, it } from 'vitest'
import { echo, envWithConfig, json, originStats, purgeUrls, send, sleep } from '../helpers/worker'

describe('read-through L1', () => {
  it('stores a miss and serves the next request from the cache without touching the origin', async () => {
    const first = await send('/products/1')
    expect(first.status).toBe(200)
    expect(first.headers.get('cache-status')).toMatch(/^edge-cache; fwd=miss; ttl=\d+; stored$/)
    const second = await send('/products/1')
    expect(second.headers.get('cache-status')).toMatch(/^edge-cache; hit; ttl=\d+; detail=memory$/)
    expect(await second.text()).toBe(await first.text())
    expect((await originStats()).fetches).toBe(1)
  })

  it('answers HEAD from the GET entry, and a HEAD miss fills the entry for GET', async () => {
    await send('/products/2')
    const head = await send('/products/2', { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers.get('cache-status')).toContain('hit')
    expect(await head.text()).toBe('')

    const headMiss = await send('/products/3', { method: 'HEAD' })
    expect(headMiss.headers.get('cache-status')).toContain('fwd=miss')
    const get = await send('/products/3')
    expect(get.headers.get('cache-status')).toContain('hit')
    expect((await get.json()) as object).toHaveProperty('id')
    expect((await originStats()).fetches).toBe(2)
  })

  it('drops ignored query parameters from the key and from the origin request', async () => {
    await send('/products/4?utm_source=mail')
    const hit = await send('/products/4?gclid=abc&utm_campaign=x')
    expect(hit.headers.get('cache-status')).toContain('hit')
    const stats = await originStats()
    expect(stats.fetches).toBe(1)
    expect(Object.keys(stats.byPath).join()).not.toContain('utm')
  })

  it('treats query order as irrelevant', async () => {
    await send(echo('order', { 'cache-control': 'max-age=60' }, 'b=2&a=1'))
    const hit = await send(echo('order', { 'cache-control': 'max-age=60' }, 'a=1&b=2'))
    expect(hit.headers.get('cache-status')).toContain('hit')
  })

  it('caches a route whose origin sends no cache headers for the route ttl', async () => {
    const miss = await send('/categories')
    expect(miss.headers.get('cache-control')).toBeNull()
    expect(miss.headers.get('cache-status')).toMatch(/fwd=miss; ttl=120; stored/)
    expect((await send('/categories')).headers.get('cache-status')).toContain('hit')
    expect((await originStats()).fetches).toBe(1)
  })

  it('passes bypassed routes straight through', async () => {
    const response = await send('/account')
    expect(response.headers.get('cache-status')).toBe('edge-cache; fwd=bypass; detail=route')
    await send('/account')
    expect((await originStats()).fetches).toBe(2)
  })

  it('serves but does not cache keys over the length limit', async () => {
    const long = echo('long', { 'cache-control': 'max-age=60' }, `q=${'x'.repeat(3000)}`)
    const first = await send(long)
    expect(first.status).toBe(200)
    expect(first.headers.get('cache-status')).toContain('detail=key-too-long')
    await send(long)
    expect((await originStats()).fetches).toBe(2)
  })

  it('keeps a stored copy out of client-facing tag headers', async () => {
    const response = await send('/products/5')
    expect(response.headers.get('surrogate-key')).toBeNull()
    expect(response.headers.get('cache-tag')).toBeNull()
    const body = await json<{ id: number | string }>(response)
    expect(String(body.id)).toBe('5')
  })
})

describe('the in-isolate memory tier in front of L1', () => {
  const noMemory = () =>
    envWithConfig((config) => {
      config.memory = { maxEntries: 0 }
    })

  it('serves hits from L1 when the memory tier is off', async () => {
    const bindings = noMemory()
    await send('/products/15', {}, undefined, bindings)
    const hit = await send('/products/15', {}, undefined, bindings)
    expect(hit.headers.get('cache-status')).toMatch(/^edge-cache; hit; ttl=\d+; detail=L1$/)
    expect((await originStats()).fetches).toBe(1)
  })

  it('holds a copy at most maxAgeMs, then reads L1 again', async () => {
    // A second: the memory hits below come right after the copy is made, however busy the machine.
    const bindings = envWithConfig((config) => {
      config.memory = { maxAgeMs: 1000 }
    })
    await send('/products/16', {}, undefined, bindings)
    expect(
      (await send('/products/16', {}, undefined, bindings)).headers.get('cache-status')
    ).toContain('detail=memory')
    await sleep(1100)
    const fromL1 = await send('/products/16', {}, undefined, bindings)
    expect(fromL1.headers.get('cache-status')).toContain('detail=L1')
    // The L1 read refilled memory.
    expect(
      (await send('/products/16', {}, undefined, bindings)).headers.get('cache-status')
    ).toContain('detail=memory')
    expect((await originStats()).fetches).toBe(1)
  })

  it('stays within maxEntries, evicting the least recently used', async () => {
    const bindings = envWithConfig((config) => {
      config.memory = { maxEntries: 2 }
    })
    for (const id of [17, 18, 19]) await send(`/products/${id}`, {}, undefined, bindings)
    const evicted = await send('/products/17', {}, undefined, bindings)
    expect(evicted.headers.get('cache-status')).toContain('detail=L1')
    const kept = await send('/products/19', {}, undefined, bindings)
    expect(kept.headers.get('cache-status')).toContain('detail=memory')
  })

  it('drops the memory copy on a purge in this isolate', async () => {
    await send('/products/20')
    expect((await send('/products/20')).headers.get('cache-status')).toContain('detail=memory')
    const purge = await purgeUrls(['/products/20'])
    expect(purge.status).toBe(200)
    expect((await send('/products/20')).headers.get('cache-status')).toContain('fwd=miss')
    expect((await originStats()).fetches).toBe(2)
  })
})
