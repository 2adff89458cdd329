import { describe, expect, it } from 'vitest'
import { admin, json, send } from '../helpers/worker'

const purge = (
  body: string,
  token: string | null = 'test-admin-token',
  type = 'application/json'
) => admin('/purge', { method: 'POST', headers: { 'content-type': type }, body }, token)

describe('admin API', () => {
  it('rejects a missing or wrong token with 401 and changes nothing', async () => {
    await send('/products/11')
    for (const token of [null, 'wrong', 'test-admin-token-but-longer', '']) {
      const response = await purge(JSON.stringify({ urls: ['/products/11'] }), token)
      expect(response.status).toBe(401)
      expect(response.headers.get('www-authenticate')).toContain('Bearer')
    }
    expect((await admin('/health', {}, null)).status).toBe(401)
    expect((await send('/products/11')).headers.get('cache-status')).toContain('hit')
  })

  it('reports health with a valid token', async () => {
    const response = await admin('/health')
    expect(response.status).toBe(200)
    expect(await json(response)).toMatchObject({
      status: 'ok',
      tiers: [
        { tier: 'memory', ok: true },
        { tier: 'L1', ok: true },
      ],
      origin: 'http://origin.test',
    })
  })

  it.each([
    ['malformed JSON', '{"urls": ['],
    ['wrong type', JSON.stringify({ urls: '/products/1' })],
    ['unknown field', JSON.stringify({ urls: ['/products/1'], everything: true })],
    ['empty list', JSON.stringify({ urls: [] })],
    ['not a URL', JSON.stringify({ urls: ['products/1'] })],
    [
      'too many',
      JSON.stringify({ urls: Array.from({ length: 1001 }, (_, i) => `/products/${i}`) }),
    ],
  ])('rejects %s with 400 and purges nothing', async (_name, body) => {
    await send('/products/12')
    const response = await purge(body)
    expect(response.status).toBe(400)
    expect(await json(response)).toMatchObject({ error: { code: 'invalid_request' } })
    expect((await send('/products/12')).headers.get('cache-status')).toContain('hit')
  })

  it('rejects a non-JSON content type with 415 and an oversized body with 413', async () => {
    const wrongType = await purge('{"urls":["/x"]}', 'test-admin-token', 'text/plain')
    expect(wrongType.status).toBe(415)
    expect(await json(wrongType)).toMatchObject({ error: { code: 'unsupported_media_type' } })
    const huge = JSON.stringify({ urls: ['/' + 'x'.repeat(70 * 1024)] })
    const tooLarge = await purge(huge)
    expect(tooLarge.status).toBe(413)
    expect(await json(tooLarge)).toMatchObject({ error: { code: 'payload_too_large' } })
  })

  it('purges URLs from L1', async () => {
    await send('/products/13')
    const response = await purge(
      JSON.stringify({ urls: ['/products/13', 'https://any.host/products/14', '/account'] })
    )
    expect(response.status).toBe(200)
    const body = await json<{
      purged: number
      results: Array<{ cacheable: boolean; deleted: boolean }>
    }>(response)
    expect(body.purged).toBe(1)
    expect(body.results.map((r) => [r.cacheable, r.deleted])).toEqual([
      [true, true],
      [true, false],
      [false, false],
    ])
    expect((await send('/products/13')).headers.get('cache-status')).toContain('fwd=miss')
  })

  it('answers unknown admin paths with a JSON 404', async () => {
    const response = await admin('/nope')
    expect(response.status).toBe(404)
  })
})
