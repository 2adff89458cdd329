/**
 * Stored bytes on the wire (RFC 9111 §3.1): the Worker reached through its service binding, so the
 * runtime's own body coding (encodeBody) takes part; the origin runs in Node behind Miniflare's
 * outbound service. Miniflare gzips again any origin answer with Content-Encoding and a compressible
 * Content-Type, so exact-bytes origins here say `application/octet-stream`.
 */
import { exports } from 'cloudflare:workers'
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { echo, envWithConfig, json, send } from '../helpers/worker'

// Level 1 marks the gzip header (XFL=4): a runtime that decoded and re-coded would send other bytes.
const TEXT = 'the origin’s own gzip bytes '.repeat(20)
const GZIP = new Uint8Array(gzipSync(Buffer.from(TEXT), { level: 1 }))
const B64 = Buffer.from(GZIP).toString('base64')

/** Through the Worker's service binding, reading the bytes as they left it. */
async function wire(path: string, init: RequestInit = {}) {
  const worker = (exports as unknown as { default: Fetcher }).default
  const response = await worker.fetch(`https://cache.test${path}`, {
    ...init,
    encodeResponseBody: 'manual',
  })
  return { response, bytes: new Uint8Array(await response.arrayBuffer()) }
}

/**
 * Reads `path` on the wire until the cache answers it (at most 10 s): a miss through the service
 * binding stores its copy in the background, after its answer, so the next read may come first.
 */
async function wireHit(path: string) {
  const deadline = Date.now() + 10_000
  for (;;) {
    const answer = await wire(path)
    const status = answer.response.headers.get('cache-status') ?? ''
    if (status.includes('hit') || Date.now() > deadline) return answer
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

function bytesPath(name: string, headers: Record<string, string>, body = B64): string {
  return echo(
    `stored-bytes/${name}`,
    { 'content-type': 'application/octet-stream', ...headers },
    `body-b64=${encodeURIComponent(body)}`
  )
}

describe('stored bytes and Content-Length on the wire', () => {
  it('a gzip body is stored and sent as the origin’s bytes, with its Content-Length', async () => {
    const path = bytesPath('gzip', { 'content-encoding': 'gzip', 'cache-control': 'max-age=60' })
    const miss = await send(path)
    expect(miss.headers.get('cache-status')).toContain('stored')
    expect(new Uint8Array(await miss.arrayBuffer())).toEqual(GZIP)
    const hit = await wire(path)
    expect(hit.response.headers.get('cache-status')).toContain('hit')
    expect(hit.response.headers.get('content-encoding')).toBe('gzip')
    expect(hit.response.headers.get('content-length')).toBe(String(GZIP.byteLength))
    expect(hit.bytes).toEqual(GZIP)
    const head = await wire(path, { method: 'HEAD' })
    expect(head.response.headers.get('content-length')).toBe(String(GZIP.byteLength))
    expect(head.bytes.byteLength).toBe(0)
  })

  it('a decoding client still gets the text (the runtime decodes on receipt only)', async () => {
    const path = bytesPath('decoded', { 'content-encoding': 'gzip', 'cache-control': 'max-age=60' })
    await send(path)
    const worker = (exports as unknown as { default: Fetcher }).default
    const response = await worker.fetch(`https://cache.test${path}`)
    expect(await response.text()).toBe(TEXT)
  })

  it('an unknown coding passes untouched, on a miss and on a hit', async () => {
    const raw = new Uint8Array([0x00, 0xff, 0x10, 0x80, 0x7f])
    const body = Buffer.from(raw).toString('base64')
    const path = bytesPath(
      'x-foo',
      { 'content-encoding': 'x-foo', 'cache-control': 'max-age=60' },
      body
    )
    const miss = await wire(path)
    expect(miss.response.headers.get('content-encoding')).toBe('x-foo')
    expect(miss.bytes).toEqual(raw)
    const hit = await wireHit(path)
    expect(hit.response.headers.get('cache-status')).toContain('hit')
    expect(hit.response.headers.get('content-encoding')).toBe('x-foo')
    expect(hit.response.headers.get('content-length')).toBe('5')
    expect(hit.bytes).toEqual(raw)
  })

  it('an answer that is not stored is forwarded as the origin’s bytes too', async () => {
    const path = bytesPath('no-store', { 'content-encoding': 'gzip', 'cache-control': 'no-store' })
    const forwarded = await wire(path)
    expect(forwarded.response.headers.get('content-encoding')).toBe('gzip')
    expect(forwarded.bytes).toEqual(GZIP)
  })

  it('an identity body from the cache carries Content-Length on the wire', async () => {
    const path = echo('stored-bytes/identity', { 'cache-control': 'max-age=60' })
    const miss = await send(path)
    const length = (await miss.arrayBuffer()).byteLength
    const hit = await wire(path)
    expect(hit.response.headers.get('cache-status')).toContain('hit')
    expect(hit.response.headers.get('content-length')).toBe(String(length))
    expect(hit.bytes.byteLength).toBe(length)
  })

  it('the origin sees the canonical Accept-Encoding the variant key holds', async () => {
    const path = echo('stored-bytes/accept', {
      'cache-control': 'max-age=60',
      vary: 'accept-encoding',
    })
    const answer = await json<{ headers: Record<string, string> }>(
      await send(path, { headers: { 'accept-encoding': 'gzip;q=0.5, br, x-foo' } })
    )
    expect(answer.headers['accept-encoding']).toBe('br,gzip')
  })
})

describe('stored bytes served from L1 (the memory tier off: the Cache API body streams out)', () => {
  const noMemory = envWithConfig((config) => {
    config.memory = { maxEntries: 0 }
  })
  const get = (path: string, init?: RequestInit) => send(path, init, undefined, noMemory)
  const bytesOf = async (response: Response) => new Uint8Array(await response.arrayBuffer())

  it('the origin’s gzip bytes and their Content-Length, on GET, HEAD, a range and a 304', async () => {
    const path = bytesPath('l1-gzip', {
      'content-encoding': 'gzip',
      'cache-control': 'max-age=60',
      etag: '"l1-gzip"',
    })
    expect((await get(path)).headers.get('cache-status')).toContain('stored')

    const hit = await get(path)
    expect(hit.headers.get('cache-status')).toMatch(/hit; ttl=\d+; detail=L1$/)
    expect(hit.headers.get('content-encoding')).toBe('gzip')
    expect(hit.headers.get('content-length')).toBe(String(GZIP.byteLength))
    expect(await bytesOf(hit)).toEqual(GZIP)

    const head = await get(path, { method: 'HEAD' })
    expect(head.headers.get('cache-status')).toContain('detail=L1')
    expect(head.headers.get('content-length')).toBe(String(GZIP.byteLength))

    const part = await get(path, { headers: { range: 'bytes=2-9' } })
    expect(part.status).toBe(206)
    expect(part.headers.get('content-range')).toBe(`bytes 2-9/${GZIP.byteLength}`)
    expect(part.headers.get('content-length')).toBe('8')
    expect(await bytesOf(part)).toEqual(GZIP.subarray(2, 10))

    const notModified = await get(path, { headers: { 'if-none-match': '"l1-gzip"' } })
    expect(notModified.status).toBe(304)
    expect(notModified.headers.get('cache-status')).toContain('detail=L1')

    // Every answer above was a hit: L1 still serves the same bytes.
    expect(await bytesOf(await get(path))).toEqual(GZIP)
  })
})
