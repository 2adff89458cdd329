import { describe, expect, it } from 'vitest'
import { json, originStats, purgeUrls, send } from '../helpers/worker'

type Product = { id: number | string; name: string }

describe('invalidation', () => {
  it('a successful PUT invalidates the URL it touched', async () => {
    await send('/products/9')
    expect((await send('/products/9')).headers.get('cache-status')).toContain('hit')
    const put = await send('/products/9', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Renamed' }),
    })
    expect(put.status).toBe(200)
    const after = await send('/products/9')
    expect(after.headers.get('cache-status')).toContain('fwd=miss')
    expect((await json<Product>(after)).name).toBe('Renamed')
  })

  it('a POST invalidates the Location it answers with, and its target', async () => {
    await send('/products')
    const created = await send('/products', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'New', price: 1 }),
    })
    expect(created.status).toBe(201)
    expect((await send('/products')).headers.get('cache-status')).toContain('fwd=miss')
  })

  it('a failed unsafe request invalidates nothing', async () => {
    await send('/products/10')
    const put = await send('/products/10', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: 'not json',
    })
    expect(put.status).toBeGreaterThanOrEqual(400)
    expect((await send('/products/10')).headers.get('cache-status')).toContain('hit')
  })

  it('a purge by URL removes every variant of that URL from L1', async () => {
    await send('/search?q=tv', { headers: { 'accept-language': 'de' } })
    await send('/search?q=tv', { headers: { 'accept-language': 'en' } })
    const purge = await purgeUrls(['/search?q=tv'])
    expect(purge.status).toBe(200)
    expect(await json(purge)).toMatchObject({ purged: 1 })
    // The first request after the purge recreates the index; the old `en` variant predates it.
    const de = await send('/search?q=tv', { headers: { 'accept-language': 'de' } })
    expect(de.headers.get('cache-status')).toContain('fwd=miss')
    const en = await send('/search?q=tv', { headers: { 'accept-language': 'en' } })
    expect(en.headers.get('cache-status')).toContain('fwd=vary-miss')
    // The variant stored before the purge stays retired after the index is recreated.
    const again = await send('/search?q=tv', { headers: { 'accept-language': 'de' } })
    expect(again.headers.get('cache-status')).toContain('hit')
    expect((await originStats()).fetches).toBe(4)
  })
})
