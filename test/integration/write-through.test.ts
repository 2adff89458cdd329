/**
 * Write-through (route option `writeThrough`): after a successful unsafe request, the URL is
 * invalidated everywhere first, then refilled from the origin in the background, so the next reader
 * hits the new content instead of missing.
 */
import { describe, expect, it } from 'vitest'
import { echo, envWithConfig, originStats, send } from '../helpers/worker'

const bindings = envWithConfig((config) => {
  config.routes = [{ pattern: '/echo/wt/**', writeThrough: true }, ...(config.routes as unknown[])]
})
const request = (path: string, init?: RequestInit) => send(path, init, undefined, bindings)
const fetchesOf = async (path: string) => (await originStats()).byPath[path.split('?')[0]!] ?? 0

describe('write-through', () => {
  it('a successful PUT refills the URL: the next reader hits the new content', async () => {
    const path = echo(`wt/${crypto.randomUUID()}`, { 'cache-control': 'max-age=300' })
    const first = await (await request(path)).text()
    expect((await request(path)).headers.get('cache-status')).toContain('hit')
    const put = await request(path, { method: 'PUT', body: 'new' })
    expect(put.status).toBe(200)
    // GET, PUT, and the refill (done in the PUT's waitUntil, which `send` waits for).
    expect(await fetchesOf(path)).toBe(3)
    const after = await request(path)
    expect(after.headers.get('cache-status')).toContain('hit')
    const body = await after.text()
    expect(body).not.toBe(first)
    expect(JSON.parse(body).method).toBe('GET')
    expect(await fetchesOf(path)).toBe(3)
  })

  it('without the option the URL is only invalidated: the next reader misses', async () => {
    const path = echo(`plain-${crypto.randomUUID()}`, { 'cache-control': 'max-age=300' })
    await request(path)
    expect((await request(path, { method: 'PUT', body: 'new' })).status).toBe(200)
    expect(await fetchesOf(path)).toBe(2)
    expect((await request(path)).headers.get('cache-status')).toContain('fwd=miss')
  })

  it('a failed write invalidates and refills nothing', async () => {
    // The GET is the path's first fetch (200, stored); the PUT its second (409).
    const path = echo(
      `wt/${crypto.randomUUID()}`,
      { 'cache-control': 'max-age=300' },
      'status2=409'
    )
    const first = await (await request(path)).text()
    expect((await request(path, { method: 'PUT', body: 'x' })).status).toBe(409)
    expect(await fetchesOf(path)).toBe(2)
    const after = await request(path)
    expect(after.headers.get('cache-status')).toContain('hit')
    expect(await after.text()).toBe(first)
  })

  it('a refill the origin marks no-store stores nothing, and fails no one', async () => {
    const path = echo(
      `wt/${crypto.randomUUID()}`,
      { 'cache-control': 'max-age=300' },
      'h2-cache-control=no-store'
    )
    await request(path)
    expect((await request(path, { method: 'PATCH', body: 'x' })).status).toBe(200)
    expect(await fetchesOf(path)).toBe(3)
    expect((await request(path)).headers.get('cache-status')).toContain('fwd=miss')
  })
})
