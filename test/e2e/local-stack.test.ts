import { request as httpRequest } from 'node:http'
import { beforeEach, describe, expect, inject, it } from 'vitest'

const workerUrl = inject('workerUrl')
const originUrl = inject('originUrl')
const adminToken = inject('adminToken')

async function originStats(): Promise<{ fetches: number; notModified: number }> {
  return (await fetch(`${originUrl}/__origin/stats`)).json() as Promise<{
    fetches: number
    notModified: number
  }>
}

const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${workerUrl}${path}`, { headers })

function purge(body: string, token: string | null = adminToken): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (token !== null) headers.authorization = `Bearer ${token}`
  return fetch(`${workerUrl}/_cache/purge`, { method: 'POST', headers, body })
}

/** A raw HTTP/1.1 request, so Host and an absolute-form target reach the Worker as a client sent them. */
function rawGet(target: string, host: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(workerUrl)
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, path: target, headers: { host } }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

beforeEach(async () => {
  await fetch(`${originUrl}/__origin/reset`, { method: 'POST' })
})

describe('the local stack (wrangler dev + demo origin)', () => {
  it('serves a miss from the origin and the next request from L1', async () => {
    const before = (await originStats()).fetches
    const miss = await get('/products/1')
    expect(miss.status).toBe(200)
    expect(miss.headers.get('cache-status')).toContain('fwd=miss')
    const body = await miss.text()
    const hit = await get('/products/1')
    expect(hit.headers.get('cache-status')).toMatch(/hit; ttl=\d+; detail=(memory|L1)/)
    expect(await hit.text()).toBe(body)
    expect((await originStats()).fetches).toBe(before + 1)
  })

  it('answers If-None-Match with 304 from the cache', async () => {
    const full = await get('/products/2')
    await full.arrayBuffer()
    const etag = full.headers.get('etag')!
    const conditional = await get('/products/2', { 'if-none-match': etag })
    expect(conditional.status).toBe(304)
    expect(conditional.headers.get('cache-status')).toContain('hit')
  })

  it('keeps Vary variants apart', async () => {
    const de = await (await get('/search?q=lamp', { 'accept-language': 'de' })).text()
    const en = await (await get('/search?q=lamp', { 'accept-language': 'en' })).text()
    expect(de).not.toBe(en)
    const deHit = await get('/search?q=lamp', { 'accept-language': 'de' })
    expect(deHit.headers.get('cache-status')).toContain('hit')
    expect(await deHit.text()).toBe(de)
  })

  it('never stores a private, no-store, Set-Cookie response', async () => {
    const a = await get('/account')
    const b = await get('/account')
    expect(a.headers.get('cache-status')).toContain('fwd=bypass')
    expect(await a.text()).not.toBe(await b.text())
    const echo = '/echo/e2e-nostore?h-cache-control=no-store'
    await (await get(echo)).arrayBuffer()
    const again = await get(echo)
    expect(again.headers.get('cache-status')).toContain('detail=no-store')
    expect((await originStats()).fetches).toBe(4)
  })

  it('purges a URL with the admin token, and refuses bad input', async () => {
    await (await get('/products/3')).arrayBuffer()
    expect((await purge(JSON.stringify({ urls: ['/products/3'] }), null)).status).toBe(401)
    expect((await purge(JSON.stringify({ urls: ['/products/3'] }), 'wrong')).status).toBe(401)
    expect((await purge('{not json')).status).toBe(400)
    expect((await purge(JSON.stringify({ urls: [42] }))).status).toBe(400)
    expect((await get('/products/3')).headers.get('cache-status')).toContain('hit')
    const ok = await purge(JSON.stringify({ urls: ['/products/3'] }))
    expect(ok.status).toBe(200)
    expect(await ok.json()).toMatchObject({ purged: 1 })
    expect((await get('/products/3')).headers.get('cache-status')).toContain('fwd=miss')
  })

  it('is not an open proxy: Host and absolute-form targets never pick the upstream', async () => {
    const viaHost = await rawGet('/echo/e2e-host?h-cache-control=max-age%3D60', 'evil.example')
    expect(viaHost.status).toBe(200)
    expect(new URL((JSON.parse(viaHost.body) as { url: string }).url).origin).toBe(originUrl)
    const absolute = await rawGet(
      'http://evil.example/echo/e2e-abs?h-cache-control=max-age%3D60',
      'evil.example'
    )
    expect(absolute.status).toBe(200)
    expect(new URL((JSON.parse(absolute.body) as { url: string }).url).origin).toBe(originUrl)
  })

  it('a PUT through the cache invalidates the product', async () => {
    await (await get('/products/4')).arrayBuffer()
    const put = await fetch(`${workerUrl}/products/4`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'E2E renamed' }),
    })
    expect(put.status).toBe(200)
    await put.arrayBuffer()
    const after = await get('/products/4')
    expect(after.headers.get('cache-status')).toContain('fwd=miss')
    expect(await after.text()).toContain('E2E renamed')
  })
})
