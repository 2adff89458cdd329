import { describe, expect, it } from 'vitest'
import { admin, echo, envWithConfig, json, originControl, send } from '../helpers/worker'

// The coalescer keeps recent fills of its own; these tests look at the tiers and the purge view.
const bindings = envWithConfig((config) => {
  config.coalescer = { enabled: false }
})
const get = (path: string) => send(path, undefined, undefined, bindings)
const purge = (body: unknown) =>
  send(
    '/_cache/purge',
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer test-admin-token' },
      body: JSON.stringify(body),
    },
    undefined,
    bindings
  )
const status = (path: string) => get(path).then((r) => r.headers.get('cache-status') ?? '')

describe('purge by tag, prefix and soft purge (memory and L1, no L2)', () => {
  it('a tag purge refuses every copy carrying the tag (Surrogate-Key and Cache-Tag)', async () => {
    const a = echo('tag-a', { 'cache-control': 'max-age=300', 'surrogate-key': 'red blue' })
    const b = echo('tag-b', { 'cache-control': 'max-age=300', 'cache-tag': 'green,red' })
    const c = echo('tag-c', { 'cache-control': 'max-age=300', 'surrogate-key': 'blue' })
    for (const path of [a, b, c]) await get(path)
    for (const path of [a, b, c]) expect(await status(path)).toContain('hit')
    const response = await purge({ tags: ['red'] })
    expect(response.status).toBe(200)
    const body = await json<{ id: string; boundMs: number }>(response)
    expect(body.boundMs).toBe(1000)
    expect(await status(a)).toContain('fwd=miss')
    expect(await status(b)).toContain('fwd=miss')
    expect(await status(c)).toContain('hit')
    // Refilled after the purge: served again.
    expect(await status(a)).toContain('hit')
    const applied = await send(
      `/_cache/purge/${body.id}`,
      {
        headers: { authorization: 'Bearer test-admin-token' },
      },
      undefined,
      bindings
    )
    expect(await json(applied)).toMatchObject({ id: body.id, applied: true })
  })

  it('a prefix purge refuses every key under it, and only those', async () => {
    const inside = [echo('pfx/1', { 'cache-control': 'max-age=300' }), echo('pfx/2')]
    const outside = echo('pfy', { 'cache-control': 'max-age=300' })
    for (const path of [...inside, outside]) await get(path)
    expect((await purge({ prefixes: ['/echo/pfx/'] })).status).toBe(200)
    expect(await status(inside[0]!)).toContain('fwd=miss')
    expect(await status(outside)).toContain('hit')
  })

  it('a soft purge keeps the copy for stale-if-error', async () => {
    const path = echo('soft', {
      'cache-control': 'max-age=300, stale-if-error=300',
      'surrogate-key': 'soft',
    })
    const filled = await (await get(path)).text()
    expect((await purge({ tags: ['soft'], soft: true })).status).toBe(200)
    await originControl('fail', { mode: 'error' })
    try {
      const stale = await get(path)
      expect(stale.status).toBe(200)
      expect(stale.headers.get('cache-status')).toContain('detail=stale-if-error')
      expect(await stale.text()).toBe(filled)
    } finally {
      await originControl('fail', { mode: 'off' })
    }
  })

  it('warms URLs through the miss path', async () => {
    const path = echo('warm', { 'cache-control': 'max-age=300' })
    const response = await send(
      '/_cache/warm',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer test-admin-token' },
        body: JSON.stringify({ urls: [path, '/account'] }),
      },
      undefined,
      bindings
    )
    expect(response.status).toBe(200)
    expect(await json(response)).toMatchObject({ warmed: 1 })
    expect(await status(path)).toContain('hit')
  })

  it.each([
    ['unknown field', { tags: ['x'], all: true }],
    ['too many tags', { tags: Array.from({ length: 10_000 }, () => 'x') }],
    ['wrong type', { prefixes: '/echo/' }],
    ['a prefix that is not a path', { prefixes: ['echo'] }],
    ['nothing to purge', { soft: true }],
  ])('rejects %s with 400 and purges nothing', async (_name, body) => {
    const path = echo('bad', { 'cache-control': 'max-age=300', 'surrogate-key': 'x' })
    await get(path)
    const response = await purge(body)
    expect(response.status).toBe(400)
    expect(await status(path)).toContain('hit')
  })

  it('an unknown purge id is a 404', async () => {
    expect((await admin('/purge/nope')).status).toBe(404)
  })
})
