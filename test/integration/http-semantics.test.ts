import { describe, expect, it } from 'vitest'
import { echo, json, originControl, originStats, send, sleep } from '../helpers/worker'

type Echo = { id: string; n: number; headers: Record<string, string>; url: string }

describe('RFC 9111 freshness and storability', () => {
  it('prefers s-maxage over max-age for a shared cache', async () => {
    const path = echo('smaxage', { 'cache-control': 'max-age=1, s-maxage=600' })
    const miss = await send(path)
    // 600 s less the answer's initial age (its fetch: a few seconds at most on a busy machine).
    expect(miss.headers.get('cache-status')).toMatch(/ttl=(59\d|600); stored/)
    await sleep(1100)
    const hit = await send(path)
    expect(hit.headers.get('cache-status')).toMatch(/^edge-cache; hit; ttl=59\d; detail=L1$/)
    expect((await originStats()).fetches).toBe(1)
  })

  it.each([
    ['private', { 'cache-control': 'private, max-age=60' }, 'private'],
    ['no-store', { 'cache-control': 'no-store, max-age=60' }, 'no-store'],
    [
      'set-cookie',
      { 'cache-control': 'public, max-age=60', 'set-cookie': 'session=abc' },
      'set-cookie',
    ],
    ['vary-star', { 'cache-control': 'max-age=60', vary: '*' }, 'vary-star'],
    ['no-freshness', {}, 'no-freshness'],
  ])('never stores or shares a %s response', async (name, headers, reason) => {
    const first = await send(echo(`ns-${name}`, headers))
    expect(first.headers.get('cache-status')).toBe(`edge-cache; fwd=miss; detail=${reason}`)
    const second = await send(echo(`ns-${name}`, headers))
    expect(second.headers.get('cache-status')).toBe(`edge-cache; fwd=miss; detail=${reason}`)
    expect((await json<Echo>(second)).id).not.toBe((await json<Echo>(first)).id)
    expect((await originStats()).fetches).toBe(2)
  })

  it('passes Set-Cookie of an unstored response to its own client only', async () => {
    const response = await send('/account')
    expect(response.headers.get('set-cookie')).toContain('session=')
  })

  it('never shares a response to an Authorization-bearing request', async () => {
    const path = echo('auth', { 'cache-control': 'public, s-maxage=60' })
    const authed = await send(path, { headers: { authorization: 'Bearer alice' } })
    expect(authed.headers.get('cache-status')).toBe('edge-cache; fwd=bypass; detail=authorization')
    expect((await json<Echo>(authed)).headers.authorization).toBe('Bearer alice')
    const anonymous = await send(path)
    expect(anonymous.headers.get('cache-status')).toContain('fwd=miss')
    expect((await json<Echo>(anonymous)).headers.authorization).toBeUndefined()
    // ...and a stored anonymous copy is never served to an authorised request either.
    const authedAgain = await send(path, { headers: { authorization: 'Bearer bob' } })
    expect(authedAgain.headers.get('cache-status')).toContain('fwd=bypass')
  })

  it('separates variants by Vary and serves each from its own entry', async () => {
    const de = await send('/search?q=shoes', { headers: { 'accept-language': 'de' } })
    const deBody = await de.text()
    const en = await send('/search?q=shoes', { headers: { 'accept-language': 'en' } })
    expect(en.headers.get('cache-status')).toContain('fwd=vary-miss')
    const deAgain = await send('/search?q=shoes', { headers: { 'accept-language': 'de' } })
    expect(deAgain.headers.get('cache-status')).toContain('hit')
    expect(await deAgain.text()).toBe(deBody)
    expect(await en.text()).not.toBe(deBody)
    expect(de.headers.get('vary')?.toLowerCase()).toContain('accept-language')
    expect((await originStats()).fetches).toBe(2)
  })

  it('lets Vary on a header outside the route key select variants too', async () => {
    const path = echo('vary', { 'cache-control': 'max-age=60', vary: 'Accept' })
    const json1 = await send(path, { headers: { accept: 'application/json' } })
    const xml = await send(path, { headers: { accept: 'application/xml' } })
    expect(xml.headers.get('cache-status')).toContain('vary-miss')
    const json2 = await send(path, { headers: { accept: 'application/json' } })
    expect(json2.headers.get('cache-status')).toContain('hit')
    expect((await json<Echo>(json2)).id).toBe((await json<Echo>(json1)).id)
  })

  it('reports an Age that includes upstream age and grows while resident', async () => {
    const path = echo('age', { 'cache-control': 'max-age=600', age: '10' })
    const miss = await send(path)
    expect(Number(miss.headers.get('age'))).toBeGreaterThanOrEqual(10)
    await sleep(2100)
    const hit = await send(path)
    expect(Number(hit.headers.get('age'))).toBeGreaterThanOrEqual(12)
    expect(hit.headers.get('cache-status')).toMatch(/ttl=58\d/)
  })
})

describe('conditional requests', () => {
  it('answers a matching If-None-Match with 304 from a fresh copy', async () => {
    const full = await send('/products/7')
    const etag = full.headers.get('etag')!
    expect(etag).toBeTruthy()
    const conditional = await send('/products/7', {
      headers: { 'if-none-match': `"nope", ${etag}` },
    })
    expect(conditional.status).toBe(304)
    expect(conditional.headers.get('etag')).toBe(etag)
    expect(conditional.headers.get('cache-status')).toContain('hit')
    expect(await conditional.text()).toBe('')
    const mismatch = await send('/products/7', { headers: { 'if-none-match': '"other"' } })
    expect(mismatch.status).toBe(200)
    expect((await originStats()).fetches).toBe(1)
  })

  it('answers If-Modified-Since from the stored Last-Modified', async () => {
    const full = await send('/products/8')
    const lastModified = full.headers.get('last-modified')!
    const response = await send('/products/8', { headers: { 'if-modified-since': lastModified } })
    expect(response.status).toBe(304)
  })

  it('revalidates a stale copy with its validator and keeps the body on a 304', async () => {
    // The 304 renews freshness for a minute (its fields update the stored ones), so the last
    // request's hit does not hang on how fast a busy machine sends it.
    const path = echo(
      'reval',
      { 'cache-control': 'max-age=1', etag: '"v1"' },
      'h304-cache-control=max-age%3D60'
    )
    const first = await json<Echo>(await send(path))
    await sleep(1100)
    const revalidated = await send(path)
    expect(revalidated.status).toBe(200)
    expect(revalidated.headers.get('cache-status')).toMatch(
      /fwd=stale; fwd-status=304; ttl=\d+; stored/
    )
    expect((await json<Echo>(revalidated)).id).toBe(first.id)
    const stats = await originStats()
    expect(stats.fetches).toBe(2)
    expect(stats.notModified).toBe(1)
    expect((await send(path)).headers.get('cache-status')).toContain('hit')
  })
})

describe('RFC 5861 stale serving', () => {
  it('serves stale-while-revalidate at once and refreshes in the background', async () => {
    // The refresh's answer lives a minute, so the next request's fresh hit does not hang on how
    // fast a busy machine sends it.
    const path = echo(
      'swr',
      { 'cache-control': 'max-age=1, stale-while-revalidate=60' },
      'h2-cache-control=max-age%3D60'
    )
    const first = await json<Echo>(await send(path))
    await sleep(1100)
    const stale = await send(path)
    expect(stale.headers.get('cache-status')).toMatch(
      /hit; ttl=-\d+; detail="L1 stale-while-revalidate"/
    )
    expect((await json<Echo>(stale)).id).toBe(first.id)
    expect((await originStats()).fetches).toBe(2)
    const fresh = await send(path)
    expect(fresh.headers.get('cache-status')).toMatch(/^edge-cache; hit; ttl=\d+; detail=memory$/)
    expect((await json<Echo>(fresh)).id).not.toBe(first.id)
  })

  it('serves stale-if-error when the origin fails', async () => {
    const path = echo('sie', { 'cache-control': 'max-age=1, stale-if-error=60' })
    const first = await json<Echo>(await send(path))
    await sleep(1100)
    await originControl('fail', { mode: 'error', status: 503 })
    const stale = await send(path)
    expect(stale.status).toBe(200)
    expect(stale.headers.get('cache-status')).toMatch(
      /fwd=stale; fwd-status=503; ttl=-\d+; detail=stale-if-error/
    )
    expect((await json<Echo>(stale)).id).toBe(first.id)
  })

  it('does not serve stale after expiry under must-revalidate', async () => {
    const path = echo('mr', { 'cache-control': 'max-age=1, must-revalidate, stale-if-error=60' })
    await send(path)
    await sleep(1100)
    await originControl('fail', { mode: 'error', status: 503 })
    const response = await send(path)
    expect(response.status).toBe(503)
  })
})

describe('stale-while-revalidate with variants', () => {
  it('refreshes each stale variant, not just the first one asked for', async () => {
    const path = echo('swr-vary', {
      'cache-control': 'max-age=1, stale-while-revalidate=60',
      vary: 'accept-language',
    })
    const headers = (lang: string) => ({ headers: { 'accept-language': lang } })
    const de = await json<Echo>(await send(path, headers('de')))
    const en = await json<Echo>(await send(path, headers('en')))
    await sleep(1100)
    // At the same time, so both background refreshes are in flight together.
    const stale = await Promise.all([send(path, headers('de')), send(path, headers('en'))])
    for (const response of stale) {
      expect(response.headers.get('cache-status')).toContain('stale-while-revalidate')
    }
    expect((await originStats()).fetches).toBe(4)
    expect((await json<Echo>(await send(path, headers('de')))).id).not.toBe(de.id)
    expect((await json<Echo>(await send(path, headers('en')))).id).not.toBe(en.id)
  })
})
