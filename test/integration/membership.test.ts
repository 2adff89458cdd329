/**
 * The penetration guard (routes[].membership): ids the origin's list certainly lacks get a 404 at
 * the edge without an origin fetch; while the list loads or cannot be read, requests pass (open).
 */
import { describe, expect, it } from 'vitest'
import { envWithConfig, originStats, send } from '../helpers/worker'

const guarded = (membership: Record<string, unknown>) =>
  envWithConfig((config) => {
    config.routes = [
      { pattern: '/products/*', membership: { refreshSeconds: 60, ...membership } },
      ...(config.routes as unknown[]),
    ]
  })
const fetchesOf = async (path: string) => (await originStats()).byPath[path] ?? 0

describe('membership guard', () => {
  it('absent ids get a 404 at the edge once the list is loaded; listed ids pass', async () => {
    const bindings = guarded({ source: '/__ids/products' })
    const get = (path: string) => send(path, undefined, undefined, bindings)
    // The first request finds no list yet: it passes (and the list loads in its waitUntil).
    expect((await get('/products/9001')).status).toBe(404)
    expect(await fetchesOf('/products/9001')).toBe(1)
    const absent = await get('/products/9002')
    expect(absent.status).toBe(404)
    expect(absent.headers.get('cache-status')).toBe('edge-cache; detail=membership-absent')
    expect(absent.headers.get('cache-control')).toBe('no-store')
    expect(await fetchesOf('/products/9002')).toBe(0)
    const listed = await get('/products/1')
    expect(listed.status).toBe(200)
    // Hostile spellings of ids are just ids the list lacks: a 404 at the edge, never a 5xx.
    for (const id of ['%00', 'x'.repeat(5000), '%F0%9F%92%A5', '..%2F1', '-1', '1e3']) {
      const answer = await get(`/products/${id}`)
      expect(answer.status, id).toBe(404)
    }
  })

  it('no spelling of an absent id walks past the guard; no spelling of a listed id is refused', async () => {
    const bindings = guarded({ source: '/__ids/products' })
    const get = (path: string) => send(path, undefined, undefined, bindings)
    await get('/products/9101') // loads the list (the guard is open until then)
    expect((await get('/products/9102')).headers.get('cache-status')).toContain('membership-absent')
    // A trailing slash, another case, a segment parameter, an encoded separator: each is a path a
    // lenient origin reads as /products/<absent id>; none may reach it.
    for (const spelling of [
      '/products/9103/',
      '/PRODUCTS/9104',
      '/Products/9105/',
      '/products/9106;x=1',
      '/products%2F9107',
      '/products//9108',
    ]) {
      const answer = await get(spelling)
      expect(answer.status, spelling).toBe(404)
      expect(answer.headers.get('cache-status'), spelling).toBe(
        'edge-cache; detail=membership-absent'
      )
    }
    const stats = await originStats()
    for (const id of ['9103', '9104', '9105', '9106', '9107', '9108']) {
      const reached = Object.keys(stats.byPath).filter((path) => path.includes(id))
      expect(reached, id).toEqual([])
    }
    // A listed id in another spelling is not refused (whatever the origin makes of the spelling).
    for (const spelling of ['/products/1/', '/PRODUCTS/1', '/products/1;v=2']) {
      const answer = await get(spelling)
      expect(answer.headers.get('cache-status') ?? '', spelling).not.toContain('membership-absent')
    }
  })

  it('a list that cannot be read leaves the guard open: requests reach the origin', async () => {
    const bindings = guarded({ source: '/__ids/none' })
    const get = (path: string) => send(path, undefined, undefined, bindings)
    await get('/products/9101')
    const answer = await get('/products/9102')
    expect(answer.status).toBe(404)
    expect(answer.headers.get('cache-status')).not.toContain('membership')
    expect(await fetchesOf('/products/9102')).toBe(1)
    // A failing list is not asked again per request: once, then after a pause.
    for (let i = 0; i < 5; i++) await get(`/products/${9103 + i}`)
    expect(await fetchesOf('/__ids/none')).toBe(1)
  })

  it('a list longer than maxIds is refused whole (never truncated): the guard stays open', async () => {
    const bindings = guarded({ source: '/__ids/products', maxIds: 3 })
    const get = (path: string) => send(path, undefined, undefined, bindings)
    await get('/products/9201')
    expect((await get('/products/9202')).headers.get('cache-status')).not.toContain('membership')
    expect(await fetchesOf('/products/9202')).toBe(1)
    expect((await get('/products/5')).status).toBe(200)
  })
})
