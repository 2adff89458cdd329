import { describe, expect, it } from 'vitest'
import { echo, json, originStats, send } from '../helpers/worker'

type Echo = { id: string; headers: Record<string, string>; url: string }

describe('no open proxy, no cache poisoning', () => {
  it('fetches the configured origin whatever Host and X-Forwarded-* say', async () => {
    const response = await send(echo('host', { 'cache-control': 'max-age=60' }), {
      headers: {
        host: 'evil.example',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-proto': 'http',
        forwarded: 'host=evil.example',
      },
    })
    const seen = await json<Echo>(response)
    expect(new URL(seen.url).host).toBe('origin.test')
    expect(seen.headers['x-forwarded-host']).toBeUndefined()
    expect(seen.headers.forwarded).toBeUndefined()
  })

  it('ignores the authority of an absolute-form request target', async () => {
    const response = await send(
      echo('absolute', { 'cache-control': 'max-age=60' }),
      {},
      'http://evil.example'
    )
    expect(new URL((await json<Echo>(response)).url).host).toBe('origin.test')
  })

  it('does not let a scheme-relative path pick the host', async () => {
    // An absolute URL string, so the test itself does not resolve `//evil.example` as an authority.
    const response = await send('https://cache.test//evil.example/echo/x')
    await response.arrayBuffer()
    // The configured origin got the path as a path (it answers its own 404: no route there).
    expect((await originStats()).byPath['//evil.example/echo/x']).toBe(1)
  })

  it('does not forward unkeyed headers, so they cannot change what is stored', async () => {
    const path = echo('poison', { 'cache-control': 'max-age=60' })
    const poisoned = await send(path, { headers: { 'x-evil': 'injected', cookie: 'a=b' } })
    const seen = await json<Echo>(poisoned)
    expect(seen.headers['x-evil']).toBeUndefined()
    expect(seen.headers.cookie).toBeUndefined()
    const clean = await send(path)
    expect(clean.headers.get('cache-status')).toContain('hit')
  })

  it('does forward the allow-listed and key headers', async () => {
    const response = await send('/search?q=a', {
      headers: { 'accept-language': 'fr', accept: 'application/json' },
    })
    const body = await response.text()
    expect(body).toContain('fr')
  })

  it('passes unsafe methods through with their body and headers', async () => {
    const response = await send(echo('post'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'r1' },
      body: JSON.stringify({ a: 1 }),
    })
    expect(response.headers.get('cache-status')).toBe('edge-cache; fwd=method')
    const seen = await json<Echo & { method: string }>(response)
    expect(seen.method).toBe('POST')
    expect(seen.headers['x-request-id']).toBe('r1')
    expect((await originStats()).fetches).toBe(1)
  })
})
