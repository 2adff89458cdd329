/**
 * Hostile and odd input against the whole stack (`wrangler dev`, three simulated regions, the demo
 * origin): malformed directives, odd spellings of paths, absolute-form targets, huge and duplicated
 * headers, odd methods, a 500 flood, corrupt L2 entries written straight into a region's Redis.
 * Whatever is sent: no 5xx the cache caused, no private answer to a second client, no route or rule
 * bypassed, and a canary key elsewhere stays served from the cache, unchanged.
 */
import { connect } from 'node:net'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { getAt, originFetches, settleRegions, until } from './simulated-client'

const workerUrl = inject('workerUrl')
const originUrl = inject('originUrl')
const controlUrl = inject('regionsControlUrl')
const run = crypto.randomUUID().slice(0, 8)
const LAST_MODIFIED = 'Wed, 01 Jan 2025 00:00:00 GMT'

/** Hostile requests sent, counted (the issue asks for at least 40). */
let hostile = 0

interface Answer {
  status: number
  cacheStatus: string
  body: string
  headers: Headers
}

async function send(path: string, init: RequestInit = {}, colo = 'LHR'): Promise<Answer> {
  hostile++
  const headers = new Headers(init.headers)
  if (!headers.has('x-sim-colo')) headers.set('x-sim-colo', colo)
  const response = await fetch(`${workerUrl}${path}`, { ...init, headers })
  const body = await response.text()
  return {
    status: response.status,
    cacheStatus: response.headers.get('cache-status') ?? '',
    body,
    headers: response.headers,
  }
}

/** None of these requests asks the origin for a 5xx: any 5xx would be the cache's own. */
function notCacheMade5xx(answer: Answer): void {
  expect(answer.status, `${answer.cacheStatus} ${answer.body.slice(0, 200)}`).toBeLessThan(500)
}

function idOf(answer: Answer): string | undefined {
  try {
    return (JSON.parse(answer.body) as { id?: string }).id
  } catch {
    return undefined
  }
}

const canaryPath = `/echo/canary-${run}?h-cache-control=max-age%3D600`
let canaryBody = ''

beforeAll(async () => {
  await settleRegions()
  const first = await getAt(canaryPath, 'LHR')
  expect(first.status).toBe(200)
  canaryBody = first.body
}, 60_000)

afterAll(async () => {
  // Other keys unaffected: the canary is still served from the cache, byte for byte.
  const canary = await getAt(canaryPath, 'LHR')
  expect(canary.cacheStatus).toMatch(/; hit;/)
  expect(canary.body).toBe(canaryBody)
  expect(hostile).toBeGreaterThanOrEqual(40)
  await settleRegions()
}, 60_000)

describe('hostile input under wrangler dev', () => {
  it.each([
    'private max-age=0',
    'no-store;',
    'no-cache; no-store',
    'private;',
    'max-age=600 private',
    'public, max-age=600, private="x',
    'max-age=600;s-maxage=600',
    'PRIVATE, max-age=600',
  ])('malformed Cache-Control %s: never served to a second client', async (value) => {
    const path = `/echo/mal-${run}-${encodeURIComponent(value)}?h-cache-control=${encodeURIComponent(value)}&h-last-modified=${encodeURIComponent(LAST_MODIFIED)}`
    const first = await send(path, {}, 'LHR')
    const second = await send(path, {}, 'CDG')
    const third = await send(path, {}, 'LHR')
    for (const answer of [first, second, third]) {
      expect(answer.status).toBe(200)
      expect(answer.cacheStatus).not.toMatch(/; hit/)
    }
    expect(new Set([idOf(first), idOf(second), idOf(third)]).size).toBe(3)
  })

  it.each(['/%70roducts/7', '/products/%37', '/products/./7', '/x/../products/7', '/products\\7'])(
    'odd spelling %s fills the same key as /products/7',
    async (spelling) => {
      const colo = 'BOM'
      await fetch(`${workerUrl}/_cache/purge`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${inject('adminToken')}`,
          'content-type': 'application/json',
          'x-sim-colo': colo,
        },
        body: JSON.stringify({ urls: ['/products/7'] }),
      }).then((r) => r.arrayBuffer())
      const odd = await send(spelling, {}, colo)
      notCacheMade5xx(odd)
      const plain = await send('/products/7', {}, colo)
      expect(plain.cacheStatus).toMatch(/; hit;/)
    }
  )

  it.each(['/%61ccount/me', '/acc%6Funt/me', '/account/./me'])(
    '%s takes the bypass route',
    async (spelling) => {
      const answer = await send(spelling)
      expect(answer.cacheStatus).toContain('fwd=bypass; detail=route')
    }
  )

  it.each(['/account%2Fme', '/products%2F7', '/products;x=1/7'])(
    'ambiguous %s is never stored',
    async (spelling) => {
      const first = await send(spelling)
      notCacheMade5xx(first)
      const second = await send(spelling)
      expect(second.cacheStatus).not.toMatch(/; hit/)
    }
  )

  it('spellings of /search cannot escape its rate-limit rule', async () => {
    const ip = `198.51.100.${Math.floor(Math.random() * 250)}`
    for (const spelling of ['/%73earch', '/SEARCH', '/search/', '/search;x=1', '//search']) {
      const answer = await send(`${spelling}?q=x`, { headers: { 'cf-connecting-ip': ip } })
      expect(answer.headers.get('ratelimit-policy'), spelling).toContain('search-per-ip')
    }
  })

  it('absolute-form request targets cannot choose the host', async () => {
    for (const host of ['evil.example', '169.254.169.254']) {
      hostile++
      const url = new URL(workerUrl)
      const raw = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(url.port), url.hostname, () => {
          socket.write(
            `GET http://${host}/echo/abs-${run}?h-cache-control=max-age%3D60 HTTP/1.1\r\nHost: ${host}\r\nx-sim-colo: LHR\r\nConnection: close\r\n\r\n`
          )
        })
        let data = ''
        socket.on('data', (chunk) => (data += chunk.toString()))
        socket.on('end', () => resolve(data))
        socket.on('error', reject)
        socket.setTimeout(10_000, () => reject(new Error('timeout')))
      })
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1])
      expect(status).toBeLessThan(500)
      if (status === 200) expect(raw).toContain(new URL(originUrl).host)
      expect(raw).not.toContain(`"url":"http://${host}`)
    }
  })

  it('huge, many and duplicated headers are no 5xx and poison nothing', async () => {
    const path = `/echo/headers-${run}?h-cache-control=max-age%3D600`
    const huge = await send(path, { headers: { 'x-junk': 'a'.repeat(16 * 1024) } })
    notCacheMade5xx(huge)
    expect(huge.body).not.toContain('aaaaaaaa')
    const many = new Headers()
    for (let i = 0; i < 150; i++) many.set(`x-h-${i}`, String(i))
    notCacheMade5xx(await send(path, { headers: many }))
    const duplicated = new Headers()
    duplicated.append('accept-language', 'de')
    duplicated.append('accept-language', 'fr')
    duplicated.append('cache-control', 'max-age=0')
    duplicated.append('cache-control', 'no-cache')
    notCacheMade5xx(await send(`/search?q=dup-${run}`, { headers: duplicated }))
    const long = await send(`/echo/long-${run}?x=${'y'.repeat(6000)}`)
    notCacheMade5xx(long)
    expect(long.cacheStatus).toContain('key-too-long')
    notCacheMade5xx(await send(`/products/%zz-${run}`))
    notCacheMade5xx(await send(`/echo/nul-${run}%00x?h-cache-control=max-age%3D60`))
  })

  it('a method the runtime does not know is refused before the Worker (not by the cache)', async () => {
    const answer = await send(`/echo/method-${run}`, { method: 'FOO' })
    // workerd answers 501 itself: no Cache-Status, nothing reached the cache or the origin.
    expect(answer.cacheStatus).toBe('')
  })

  it.each(['OPTIONS', 'PATCH', 'PROPFIND', 'MKCOL'])(
    'odd method %s passes through',
    async (method) => {
      const answer = await send(`/echo/method-${run}`, { method })
      notCacheMade5xx(answer)
      expect(answer.cacheStatus).toContain('fwd=method')
    }
  )

  it('a 500 flood on one URL (and many) does not switch the cache off for others', async () => {
    const flood = await Promise.all(
      Array.from({ length: 30 }, (_, i) => send(`/echo/flood-${run}?status=500&i=${i}`, {}, 'IAD'))
    )
    expect(flood.every((answer) => answer.status === 500)).toBe(true)
    for (let i = 0; i < 5; i++) {
      const other = await send(
        `/echo/after-flood-${run}-${i}?h-cache-control=max-age%3D60`,
        {},
        'IAD'
      )
      expect(other.status).toBe(200)
    }
  })

  it('corrupt L2 entries written straight into Redis are misses, never 5xx', async () => {
    const { regions } = (await (await fetch(`${controlUrl}/regions`)).json()) as {
      regions: Array<{ name: string; redisUrl: string }>
    }
    const euWest = regions.find((region) => region.name === 'eu-west')!
    const redis = createClient({ url: euWest.redisUrl })
    await redis.connect()
    try {
      const paths = [1, 2, 3].map((i) => `/echo/corrupt-${run}-${i}?h-cache-control=max-age%3D600`)
      for (const path of paths) expect((await getAt(path, 'LHR')).status).toBe(200)
      const keyOf = (path: string) => `ec:e:${path}`
      // The fills' L2 writes land after their answers: corrupt the entries once they are there (a
      // write landing later would replace the corrupt bytes, or leave nothing to read below).
      await until('the three entries in eu-west', async () =>
        (await redis.exists(paths.map(keyOf))) === paths.length ? true : undefined
      )
      // 1: not base64 at all; 2: bytes with a valid header but a status of 999; 3: truncated.
      await redis.set(keyOf(paths[0]!), '!!! not base64 !!!')
      const valid = Buffer.from((await redis.get(keyOf(paths[1]!)))!, 'base64')
      valid.writeUInt16BE(999, 5)
      await redis.set(keyOf(paths[1]!), valid.toString('base64'))
      const truncated = Buffer.from((await redis.get(keyOf(paths[2]!)))!, 'base64')
      await redis.set(keyOf(paths[2]!), truncated.subarray(0, 20).toString('base64'))
      const before = await originFetches()
      for (const path of paths) {
        // CDG: another colo of eu-west, so its memory and L1 are empty and L2 is read.
        const answer = await send(path, {}, 'CDG')
        expect(answer.status).toBe(200)
        expect(answer.cacheStatus).not.toContain('detail=L2')
      }
      expect(await originFetches()).toBeGreaterThan(before)
    } finally {
      await redis.quit()
    }
  })

  it('simulation headers cannot reach Object.prototype', async () => {
    for (const colo of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      notCacheMade5xx(await send(`/echo/sim-${run}?h-cache-control=max-age%3D60`, {}, colo))
    }
  })

  it('a cached 404 does not answer If-None-Match: * with a 304', async () => {
    const path = `/echo/gone-${run}?status=404`
    await send(path)
    const conditional = await send(path, { headers: { 'if-none-match': '*' } })
    expect(conditional.status).toBe(404)
  })
})
