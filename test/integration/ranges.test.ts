import { describe, expect, it } from 'vitest'
import { echo, envWithConfig, json, originStats, send } from '../helpers/worker'

type Echo = { id: string; headers: Record<string, string> }

/** The echo's JSON body is a few hundred bytes: over this limit, no fill can be stored. */
const tooSmall = () =>
  envWithConfig((config) => {
    config.limits = { ...(config.limits as object), maxBodyBytes: 64 }
  })

const FRESH = { 'cache-control': 'max-age=600' }

describe('Range requests when the response is too large to store', () => {
  it('passes the Range request through to the origin, unstored', async () => {
    const bindings = tooSmall()
    const path = echo('range-too-large', FRESH)
    const init = { headers: { range: 'bytes=0-9', 'if-range': '"x"' } }
    const answer = await send(path, init, undefined, bindings)
    expect(answer.headers.get('cache-status')).toBe('edge-cache; fwd=miss; detail=too-large')
    // The origin got the client's Range (the echo ignores it and answers 200, as it may).
    const body = await json<Echo>(answer)
    expect(body.headers.range).toBe('bytes=0-9')
    expect(body.headers['if-range']).toBe('"x"')
    // The fill (whole, abandoned at the limit) and the pass-through.
    expect((await originStats()).byPath[path.split('?')[0]!]).toBe(2)
  })

  it('passes on an origin 206 as it is', async () => {
    const bindings = tooSmall()
    const bytes = 'x'.repeat(200)
    const path = echo(
      'range-too-large-206',
      { ...FRESH, 'content-range': 'bytes 0-199/1000' },
      `status=206&body-b64=${encodeURIComponent(btoa(bytes))}`
    )
    const answer = await send(path, { headers: { range: 'bytes=0-199' } }, undefined, bindings)
    expect(answer.status).toBe(206)
    expect(answer.headers.get('content-range')).toBe('bytes 0-199/1000')
    expect(await answer.text()).toBe(bytes)
    expect(answer.headers.get('cache-status')).not.toContain('stored')
  })

  it('streams the whole answer once to a request without Range, or a HEAD', async () => {
    const bindings = tooSmall()
    const path = echo('range-too-large-whole', FRESH)
    const whole = await send(path, {}, undefined, bindings)
    expect(whole.status).toBe(200)
    expect(whole.headers.get('cache-status')).toBe('edge-cache; fwd=miss; detail=too-large')
    expect((await json<Echo>(whole)).headers.range).toBeUndefined()
    const head = await send(
      path,
      { method: 'HEAD', headers: { range: 'bytes=0-9' } },
      undefined,
      bindings
    )
    expect(head.status).toBe(200)
    expect((await originStats()).byPath[path.split('?')[0]!]).toBe(2)
  })
})

describe('Range requests answered from the cache', () => {
  it('cuts a suffix from the stored copy on a hit', async () => {
    const path = echo('range-l1', FRESH)
    const whole = await send(path)
    const stored = await whole.text()
    const part = await send(path, { headers: { range: 'bytes=-7' } })
    expect(part.status).toBe(206)
    expect(part.headers.get('cache-status')).toMatch(/^edge-cache; hit;/)
    expect(await part.text()).toBe(stored.slice(-7))
    expect(part.headers.get('content-range')).toBe(
      `bytes ${stored.length - 7}-${stored.length - 1}/${stored.length}`
    )
  })
})
