import { describe, expect, it } from 'vitest'
import { echo, envWithConfig, json, originControl, send, sleep } from '../helpers/worker'

// A 300 ms origin deadline, so a hanging origin is detected quickly.
const shortDeadline = envWithConfig((config) => {
  config.origin = { timeoutMs: 300 }
})

describe('every wait has a deadline', () => {
  it('answers 504 when the origin hangs past its deadline on a miss', async () => {
    await originControl('fail', { mode: 'hang' })
    const started = Date.now()
    const response = await send(
      echo('hang-miss', { 'cache-control': 'max-age=60' }),
      {},
      undefined,
      shortDeadline
    )
    expect(response.status).toBe(504)
    expect(response.headers.get('cache-status')).toBe('edge-cache; fwd=miss; detail=origin-timeout')
    expect(await json(response)).toMatchObject({ error: { code: 'origin_timeout' } })
    expect(Date.now() - started).toBeLessThan(5000)
    await originControl('fail', { mode: 'off' })
  })

  it('serves a stale copy within stale-if-error when the origin hangs', async () => {
    const path = echo('hang-stale', { 'cache-control': 'max-age=1, stale-if-error=60' })
    const first = await json<{ id: string }>(await send(path, {}, undefined, shortDeadline))
    await sleep(1100)
    await originControl('fail', { mode: 'hang' })
    const stale = await send(path, {}, undefined, shortDeadline)
    expect(stale.status).toBe(200)
    expect(stale.headers.get('cache-status')).toMatch(/fwd=stale; ttl=-\d+; detail=stale-if-error/)
    expect((await json<{ id: string }>(stale)).id).toBe(first.id)
    await originControl('fail', { mode: 'off' })
  })

  it('answers 504 for a pass-through request when the origin hangs', async () => {
    await originControl('fail', { mode: 'hang' })
    const response = await send('/account', {}, undefined, shortDeadline)
    expect(response.status).toBe(504)
    expect(response.headers.get('cache-status')).toBe(
      'edge-cache; fwd=bypass; detail=origin-timeout'
    )
    await originControl('fail', { mode: 'off' })
  })
})
