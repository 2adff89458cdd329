/** The REST endpoint's wire format over plain fetch: statuses, error bodies, base64, limits. */
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stripUnknownFlags } from '../../tools/upstash-rest/scripts'
import {
  MAX_BODY_BYTES,
  startUpstashRest,
  type StartedUpstashRest,
} from '../../tools/upstash-rest/server'

const TOKEN = 'protocol-token'
let rest: StartedUpstashRest

async function post(
  path: string,
  body: unknown,
  headers: Record<string, string> = {}
): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${rest.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  const text = await response.text()
  return { status: response.status, json: JSON.parse(text) }
}

beforeAll(async () => {
  rest = await startUpstashRest({ token: TOKEN })
})
afterAll(async () => {
  await rest?.stop()
})

describe('wire format', () => {
  it('one command: {result}; a Redis error: 400 {error}', async () => {
    expect(await post('/', ['SET', 'k', 'v'])).toEqual({ status: 200, json: { result: 'OK' } })
    expect(await post('/', ['GET', 'k'])).toEqual({ status: 200, json: { result: 'v' } })
    expect(await post('/', ['INCR', 'k'])).toEqual({
      status: 400,
      json: { error: 'ERR value is not an integer or out of range' },
    })
    expect(await post('/', ['SET', 'n', 1.5])).toEqual({ status: 200, json: { result: 'OK' } })
    expect(await post('/', ['GET', 'n'])).toEqual({ status: 200, json: { result: '1.5' } })
  })

  it('base64: bulk and status strings encoded, OK and numbers not, binary values intact', async () => {
    const direct = await createClient({ url: rest.redis.url, RESP: 2 }).connect()
    try {
      await direct.set('bin', Buffer.from([0xff, 0x00, 0x80]))
    } finally {
      await direct.close()
    }
    const b64 = { 'upstash-encoding': 'base64' }
    expect((await post('/', ['GET', 'bin'], b64)).json).toEqual({ result: '/wCA' })
    expect((await post('/', ['SET', 's', 'hé'], b64)).json).toEqual({ result: 'OK' })
    expect((await post('/', ['PING'], b64)).json).toEqual({ result: 'UE9ORw==' })
    expect((await post('/', ['MGET', 's', 'none'], b64)).json).toEqual({ result: ['aMOp', null] })
    expect((await post('/', ['STRLEN', 's'], b64)).json).toEqual({ result: 3 })
  })

  it('pipeline: one {result} or {error} per command, status 200', async () => {
    const { status, json } = await post('/pipeline', [
      ['SET', 'p', 'x'],
      ['INCR', 'p'],
      ['GET', 'p'],
    ])
    expect(status).toBe(200)
    expect(json).toEqual([
      { result: 'OK' },
      { error: 'ERR value is not an integer or out of range' },
      { result: 'x' },
    ])
  })

  it('multi-exec: results in order; EXECABORT is a 400', async () => {
    expect(
      await post('/multi-exec', [
        ['SET', 't', '1'],
        ['INCR', 't'],
      ])
    ).toEqual({ status: 200, json: [{ result: 'OK' }, { result: 2 }] })
    const aborted = await post('/multi-exec', [
      ['SET', 't'],
      ['GET', 't'],
    ])
    expect(aborted.status).toBe(400)
    expect((aborted.json as { error: string }).error).toMatch(/^EXECABORT.*wrong number/)
  })

  it('concurrent transactions are not interleaved with each other or with other requests', async () => {
    const runs = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 2
          ? post('/multi-exec', [
              ['INCR', 'c'],
              ['INCR', 'c'],
              ['INCR', 'c'],
            ])
          : post('/pipeline', [['INCR', 'c']])
      )
    )
    for (const [i, run] of runs.entries()) {
      expect(run.status).toBe(200)
      if (i % 2 === 0) continue
      const [a, b, c] = (run.json as { result: number }[]).map((r) => r.result)
      expect([b! - a!, c! - b!]).toEqual([1, 1])
    }
    expect((await post('/', ['GET', 'c'])).json).toEqual({ result: String(20 * 3 + 20) })
  })

  it('refuses blocking and connection-state commands with a clear 400', async () => {
    for (const command of [
      ['SUBSCRIBE', 'c'],
      ['BLPOP', 'l', '0'],
      ['select', '1'],
      ['MONITOR'],
      ['QUIT'],
      ['MULTI'],
      ['XREAD', 'BLOCK', '0', 'STREAMS', 's', '$'],
    ]) {
      const { status, json } = await post('/', command)
      expect(status).toBe(400)
      expect((json as { error: string }).error).toMatch(/is not supported by this endpoint/)
    }
    expect(
      (
        await post('/pipeline', [
          ['GET', 'k'],
          ['BRPOP', 'l', '0'],
        ])
      ).status
    ).toBe(400)
  })

  it('auth, malformed bodies, size limit, unknown paths', async () => {
    expect(await post('/', ['GET', 'k'], { authorization: 'Bearer nope' })).toEqual({
      status: 401,
      json: { error: 'Unauthorized' },
    })
    expect((await post('/', '{not json')).status).toBe(400)
    expect((await post('/', { cmd: 'GET' })).status).toBe(400)
    expect((await post('/', ['GET', null])).status).toBe(400)
    expect((await post('/pipeline', [])).status).toBe(400)
    expect((await post('/', ['SET', 'big', 'x'.repeat(MAX_BODY_BYTES)])).status).toBe(413)
    expect((await post('/nope', ['GET', 'k'])).status).toBe(404)
  })

  it('down answers 503 with a JSON error', async () => {
    rest.setFault({ down: true })
    try {
      const { status, json } = await post('/', ['GET', 'k'])
      expect(status).toBe(503)
      expect(json).toEqual({ error: expect.stringMatching(/down/) })
    } finally {
      rest.setFault({})
    }
  })
})

describe('stripUnknownFlags', () => {
  it('drops flags redis-server does not know and keeps the rest of the script', () => {
    expect(stripUnknownFlags('#!lua flags=allow-key-locking\nreturn 1')).toBe('#!lua\nreturn 1')
    expect(stripUnknownFlags('#!lua flags=no-writes,allow-key-locking\nreturn 1')).toBe(
      '#!lua flags=no-writes\nreturn 1'
    )
    expect(stripUnknownFlags('#!lua flags=no-writes\nreturn 1')).toBe(
      '#!lua flags=no-writes\nreturn 1'
    )
    expect(stripUnknownFlags('return 1')).toBe('return 1')
  })
})
