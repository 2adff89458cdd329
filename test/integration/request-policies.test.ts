/**
 * Route policies for what a client's request may change (RFC 9111 §5.2.1 request directives, §3.5
 * Authorization), where several requests meet: the Coalescer's fill key and hostile clients. The
 * single-request behaviour is in the conformance rows (rows/request-directives.ts, authorization.ts).
 */
import { describe, expect, it } from 'vitest'
import { cacheStatus, echo, json, originControl, originStats, send } from '../helpers/worker'

interface Echo {
  headers: Record<string, string>
  id: string
}

describe('request directives and coalescing', () => {
  it('on the default route, clients with different Cache-Control still share one origin fetch', async () => {
    await originControl('latency', { ms: 300 })
    const path = echo('rd-shared', { 'cache-control': 'max-age=60' })
    const values = ['', 'no-cache', 'no-store', 'max-age=0', 'no-cache, no-store', 'min-fresh=9']
    const responses = await Promise.all(
      Array.from({ length: 24 }, (_, i) => {
        const value = values[i % values.length]!
        return send(path, value ? { headers: { 'cache-control': value } } : {})
      })
    )
    expect(responses.every((response) => response.status === 200)).toBe(true)
    expect(
      new Set(await Promise.all(responses.map(async (r) => (await json<Echo>(r)).id))).size
    ).toBe(1)
    expect((await originStats()).byPath['/echo/rd-shared']).toBe(1)
    // A client's no-store did not keep the shared answer out of the cache.
    expect(cacheStatus(await send(path, { headers: { 'cache-control': 'no-store' } }))).toMatch(
      /hit/
    )
  })

  it('where honoured, a no-store request never shares a fetch that stores, and stores nothing', async () => {
    await originControl('latency', { ms: 300 })
    const path = echo('rfc-request/rd-nostore', { 'cache-control': 'max-age=60' })
    const [plain, noStore] = await Promise.all([
      send(path),
      send(path, { headers: { 'cache-control': 'no-store' } }),
    ])
    expect(cacheStatus(plain!)).toMatch(/stored/)
    expect(cacheStatus(noStore!)).not.toMatch(/stored/)
    expect((await originStats()).byPath['/echo/rfc-request/rd-nostore']).toBe(2)
    expect((await json<Echo>(await send(path))).id).toBe((await json<Echo>(plain!)).id)
  })
})

describe('Authorization on an rfc9111 route: hostile clients', () => {
  const ALICE = 'Bearer alice-secret'
  const BOB = 'Bearer bob-secret'

  it('concurrent requests with different credentials never share a fetch: a private answer goes only to its own requester', async () => {
    await originControl('latency', { ms: 300 })
    const path = echo('rfc-auth/private-stampede', { 'cache-control': 'private, max-age=60' })
    const credentials = [ALICE, BOB, ALICE, BOB, ALICE, BOB]
    const responses = await Promise.all(
      credentials.map((authorization) => send(path, { headers: { authorization } }))
    )
    const anonymous = await send(path)
    for (const [i, response] of responses.entries()) {
      expect((await json<Echo>(response)).headers.authorization).toBe(credentials[i])
    }
    expect((await json<Echo>(anonymous)).headers.authorization).toBeUndefined()
  })

  it('a shareable answer: one origin fetch per credential at most, none once stored', async () => {
    await originControl('latency', { ms: 300 })
    const path = echo('rfc-auth/public-stampede', { 'cache-control': 'public, max-age=60' })
    const responses = await Promise.all(
      [ALICE, BOB, ALICE, BOB].map((authorization) => send(path, { headers: { authorization } }))
    )
    expect(responses.every((response) => response.status === 200)).toBe(true)
    const fetched = (await originStats()).byPath['/echo/rfc-auth/public-stampede']!
    expect(fetched).toBeGreaterThanOrEqual(1)
    expect(fetched).toBeLessThanOrEqual(2)
    const carol = await send(path, { headers: { authorization: 'Bearer carol' } })
    expect(cacheStatus(carol)).toMatch(/hit/)
    expect((await originStats()).byPath['/echo/rfc-auth/public-stampede']).toBe(fetched)
  })

  it("Bob's request cannot poison or evict Alice's shared copy", async () => {
    const path = echo('rfc-auth/poison', { 'cache-control': 'public, max-age=60' })
    const alice = await json<Echo>(await send(path, { headers: { authorization: ALICE } }))
    // Bob tries everything a client controls: directives (not honoured here), odd credentials,
    // a header that would spell the partition marker.
    for (const headers of <Record<string, string>[]>[
      { authorization: BOB, 'cache-control': 'no-cache, no-store' },
      { authorization: 'authorized' },
      { authorization: BOB, pragma: 'no-cache' },
    ]) {
      const response = await send(path, { headers })
      expect(cacheStatus(response)).toMatch(/hit/)
      expect((await json<Echo>(response)).id).toBe(alice.id)
    }
    expect((await originStats()).byPath['/echo/rfc-auth/poison']).toBe(1)
    // An anonymous client does not reach it, and its own copy does not replace it.
    const anonymous = await json<Echo>(await send(path))
    expect(anonymous.headers.authorization).toBeUndefined()
    const again = await json<Echo>(await send(path, { headers: { authorization: BOB } }))
    expect(again.id).toBe(alice.id)
  })
})
