/**
 * The official `@upstash/redis` client and `@upstash/ratelimit` against the local REST endpoint
 * and a real redis-server (Node, not workerd).
 */
import { Ratelimit } from '@upstash/ratelimit'
import { Redis } from '@upstash/redis'
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { startRedisServer } from '../../tools/lib/redis-server'
import { sha1Hex } from '../../tools/upstash-rest/scripts'
import { startUpstashRest, type StartedUpstashRest } from '../../tools/upstash-rest/server'

const TOKEN = 'test-token'
let rest: StartedUpstashRest
let redis: Redis

const client = (options: { token?: string; responseEncoding?: false } = {}) =>
  new Redis({
    url: rest.url,
    token: options.token ?? TOKEN,
    responseEncoding: options.responseEncoding,
    enableTelemetry: false,
    retry: false,
  })

/** A client calling from `clientRegion`, as a simulated Worker does (`${url}/from/${region}`). */
const clientIn = (
  clientRegion: string,
  options: { url?: string; enableAutoPipelining?: boolean } = {}
) =>
  new Redis({
    url: `${options.url ?? rest.url}/from/${clientRegion}`,
    token: TOKEN,
    retry: false,
    automaticDeserialization: false,
    enableTelemetry: false,
    enableAutoPipelining: options.enableAutoPipelining,
  })

const timed = async <T>(work: () => Promise<T>): Promise<number> => {
  const started = performance.now()
  await work()
  return performance.now() - started
}

/** Every code point but the surrogates (they are not valid UTF-8), with a bounded body size. */
function manyCodePoints(): string {
  const points: number[] = []
  for (let cp = 1; cp < 0x10000; cp++) if (cp < 0xd800 || cp > 0xdfff) points.push(cp)
  for (let cp = 0x10000; cp <= 0x10ffff; cp += 251) points.push(cp)
  points.push(0, 0x10ffff)
  return `x${String.fromCodePoint(...points.slice(0, 30_000))}${String.fromCodePoint(...points.slice(30_000))}`
}

beforeAll(async () => {
  rest = await startUpstashRest({ token: TOKEN })
  redis = client()
})
afterAll(async () => {
  await rest?.stop()
})
beforeEach(async () => {
  rest.setFault({})
  await redis.flushdb()
})

describe('commands through @upstash/redis', () => {
  it('set, get, del, expire, ttl', async () => {
    expect(await redis.set('k', 'v')).toBe('OK')
    expect(await redis.get('k')).toBe('v')
    expect(await redis.expire('k', 100)).toBe(1)
    const ttl = await redis.ttl('k')
    expect(ttl).toBeGreaterThan(90)
    expect(ttl).toBeLessThanOrEqual(100)
    expect(await redis.set('k2', 'v2', { nx: true, ex: 5 })).toBe('OK')
    expect(await redis.set('k2', 'other', { nx: true })).toBeNull()
    expect(await redis.del('k', 'k2', 'missing')).toBe(2)
    expect(await redis.get('k')).toBeNull()
    expect(await redis.ttl('k')).toBe(-2)
  })

  it('incr, hset, hgetall, ping', async () => {
    expect(await redis.incr('n')).toBe(1)
    expect(await redis.incrby('n', 41)).toBe(42)
    expect(await redis.hset('h', { a: 'x', b: 2 })).toBe(2)
    expect(await redis.hgetall('h')).toEqual({ a: 'x', b: 2 })
    expect(await redis.hgetall('missing')).toBeNull()
    expect(await redis.ping()).toBe('PONG')
  })

  it('a pipeline, with a failing command in the middle', async () => {
    const p = redis.pipeline()
    p.set('a', 'x').incr('n').incr('a').get('a')
    await expect(p.exec()).rejects.toThrow(
      /Command 3 \[ incr \] failed: ERR value is not an integer/
    )
    const q = redis.pipeline()
    q.set('a', 'y').incr('n').get('a').lrange('nothing', 0, -1)
    expect(await q.exec()).toEqual(['OK', 2, 'y', []])
  })

  it('a transaction (multi-exec) runs atomically and keeps per-command errors', async () => {
    const tx = redis.multi()
    tx.set('a', 'x').incr('n').incr('n').get('a').hset('h', { f: 1 }).hgetall('h')
    expect(await tx.exec()).toEqual(['OK', 1, 2, 'x', 1, { f: 1 }])
    const failing = redis.multi()
    failing.set('s', 'text').incr('s').get('s')
    const replies = await failing.exec({ keepErrors: true })
    expect(replies.map((r) => r.error ?? null)).toEqual([
      null,
      expect.stringMatching(/^ERR value is not an integer/),
      null,
    ])
    expect(replies[2]!.result).toBe('text')
  })

  it('an aborted transaction (a command refused while queueing) throws', async () => {
    const tx = redis.multi()
    tx.set('a', 'x')
    tx.hset('h', {}) // HSET h with no field: wrong number of arguments
    await expect(tx.exec()).rejects.toThrow(/EXECABORT.*wrong number of arguments/)
    expect(await redis.get('a')).toBeNull()
  })

  it('strings with (almost) every code point and JSON values round-trip, in both encodings', async () => {
    const text = manyCodePoints()
    const value = { a: 1, b: [1, 'two', null], c: { nested: 'ünï€😀' } }
    for (const r of [redis, client({ responseEncoding: false })]) {
      await r.set('text', text)
      expect(await r.get('text')).toBe(text)
      await r.set('json', value)
      expect(await r.get('json')).toEqual(value)
      expect(await r.mget('text', 'missing', 'json')).toEqual([text, null, value])
    }
  })

  it('a Uint8Array argument arrives as its JSON text (the client JSON.stringifies objects)', async () => {
    await redis.set('bin', new Uint8Array([0, 255]))
    expect(await redis.get('bin')).toEqual({ 0: 0, 1: 255 })
  })

  it('eval runs a script with keys and arguments', async () => {
    const script = 'redis.call("SET", KEYS[1], ARGV[1]); return {KEYS[1], ARGV[1], 42, false}'
    expect(await redis.eval(script, ['k'], ['v'])).toEqual(['k', 'v', 42, null])
    expect(await redis.get('k')).toBe('v')
    await expect(redis.eval('return redis.error_reply("MY boom")', [], [])).rejects.toThrow(
      /MY boom/
    )
  })

  it('evalsha answers NOSCRIPT until the script is loaded; createScript falls back to eval', async () => {
    const script = 'return ARGV[1] .. "!"'
    const sha = sha1Hex(script)
    await expect(redis.evalsha(sha, [], ['a'])).rejects.toThrow(/NOSCRIPT/)
    expect(await redis.scriptLoad(script)).toBe(sha)
    expect(await redis.evalsha(sha, [], ['a'])).toBe('a!')
    const fresh = redis.createScript<string>('return "fresh " .. ARGV[1]')
    expect(await fresh.exec([], ['x'])).toBe('fresh x')
    expect(await fresh.evalsha([], ['y'])).toBe('fresh y')
  })

  it('accepts the Upstash-only shebang flag ratelimit uses, under the SHA the client computed', async () => {
    const script = '#!lua flags=allow-key-locking,no-writes\nreturn tonumber(ARGV[1]) + 1'
    const sha = sha1Hex(script)
    await expect(redis.evalsha(sha, [], [1])).rejects.toThrow(/NOSCRIPT/)
    expect(await redis.eval(script, [], [1])).toBe(2)
    expect(await redis.evalsha(sha, [], [2])).toBe(3)
    expect(await redis.scriptExists(sha)).toEqual([1])
    await redis.scriptFlush()
    expect(await redis.scriptLoad(script)).toBe(sha)
    expect(await redis.evalsha(sha, [], [3])).toBe(4)
  })
})

describe('auth and faults', () => {
  it('a wrong token makes the client throw', async () => {
    await expect(client({ token: 'wrong' }).get('k')).rejects.toThrow(/Unauthorized/)
  })

  it('down: the client throws until the fault is cleared', async () => {
    rest.setFault({ down: true })
    await expect(redis.get('k')).rejects.toThrow(/service unavailable/)
    rest.setFault({})
    expect(await redis.get('k')).toBeNull()
  })

  it('errorRate 1 fails every request without running it; extraLatencyMs delays', async () => {
    rest.setFault({ errorRate: 1 })
    await expect(redis.set('k', 'v')).rejects.toThrow(/injected fault/)
    rest.setFault({ extraLatencyMs: 120 })
    const started = performance.now()
    expect(await redis.get('k')).toBeNull()
    expect(performance.now() - started).toBeGreaterThanOrEqual(115)
    expect(() => rest.setFault({ errorRate: 2 })).toThrow(RangeError)
  })
})

describe('the client-region prefix /from/<region>', () => {
  it('single commands, pipelines and transactions work under the prefix', async () => {
    // Auto-pipelining off: a lone command goes to the base URL itself, POST /from/eu-west.
    const single = clientIn('eu-west', { enableAutoPipelining: false })
    expect(await single.set('k', 'v')).toBe('OK')
    expect(await single.get('k')).toBe('v')
    const batched = clientIn('eu-west')
    const p = batched.pipeline()
    p.incr('n').incr('n').get('k')
    expect(await p.exec()).toEqual([1, 2, 'v'])
    const tx = batched.multi()
    tx.set('a', 'x').get('a')
    expect(await tx.exec()).toEqual(['OK', 'x'])
    // The same Redis behind both spellings.
    expect(await redis.get('a')).toBe('x')
  })

  it('counts requests per client region, direct for the plain routes, 5xx as errors', async () => {
    rest.resetStats()
    const eu = clientIn('eu-west', { enableAutoPipelining: false })
    await eu.set('k', 'v')
    await eu.get('k')
    await clientIn('ap-south', { enableAutoPipelining: false }).get('k')
    await redis.get('k')
    rest.setFault({ errorRate: 1 })
    await expect(eu.get('k')).rejects.toThrow(/injected fault/)
    rest.setFault({})
    expect(rest.stats()).toEqual({
      requests: { 'eu-west': 3, 'ap-south': 1, direct: 1 },
      errors: 1,
    })
    rest.resetStats()
    expect(rest.stats()).toEqual({ requests: {}, errors: 0 })
  })

  it('a malformed client region is an unknown endpoint (404 JSON)', async () => {
    for (const path of ['/from/EU', `/from/${'x'.repeat(33)}`, '/from/a_b/pipeline', '/from/']) {
      const response = await fetch(`${rest.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
        body: '["PING"]',
      })
      expect(response.status, path).toBe(404)
      expect(await response.json()).toEqual({ error: expect.stringMatching(/unknown endpoint/) })
    }
  })

  it('latencyFor: one-way slept there and back, per client region', async () => {
    const far = await startUpstashRest({
      token: TOKEN,
      latencyFor: (region) => (region === 'far' ? 60 : 0),
    })
    try {
      const remote = clientIn('far', { url: far.url })
      const local = clientIn('near', { url: far.url })
      await local.ping() // warm the connection
      const remoteMs = await timed(() => remote.ping())
      const localMs = await timed(() => local.ping())
      expect(remoteMs).toBeGreaterThanOrEqual(2 * 60 - 1)
      expect(localMs).toBeLessThan(60)
      // extraLatencyMs comes on top, once.
      far.setFault({ extraLatencyMs: 50 })
      expect(await timed(() => remote.ping())).toBeGreaterThanOrEqual(2 * 60 + 50 - 1)
    } finally {
      await far.stop()
    }
  })
})

describe('redis-server gone under a running endpoint', () => {
  it('fails fast with a 5xx the client throws, logs once per state change, recovers on restart', async () => {
    const own = await startUpstashRest({ token: TOKEN })
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined)
    try {
      const client = clientIn('eu-west', { url: own.url })
      const plain = new Redis({ url: own.url, token: TOKEN, retry: false, enableTelemetry: false })
      expect(await client.set('k', 'v')).toBe('OK')
      const port = own.redis.port
      await own.redis.process.stop(0) // SIGKILL: a crash, not a shutdown

      for (const call of [() => client.get('k'), () => plain.get('k')]) {
        let failure: unknown
        const ms = await timed(() => call().catch((error: unknown) => (failure = error)))
        expect(String(failure)).toMatch(/redis unavailable/)
        expect(ms).toBeLessThan(500)
      }
      const tx = client.multi()
      tx.get('k')
      await expect(tx.exec()).rejects.toThrow(/redis unavailable/)
      expect(own.stats().errors).toBe(3)

      // A few reconnect attempts pass without a line each.
      await new Promise((resolve) => setTimeout(resolve, 500))
      const restarted = await startRedisServer({ port })
      try {
        await vi.waitFor(async () => expect(await client.get('k')).toBeNull(), {
          timeout: 3000,
          interval: 50,
        })
        expect(await client.set('k', 'again')).toBe('OK')
        const lines = logged.mock.calls.map((args) => String(args[0]))
        expect(lines.filter((l) => l.startsWith('[upstash-rest]'))).toEqual([
          expect.stringMatching(/unreachable/),
          expect.stringMatching(/is back/),
        ])
      } finally {
        await restarted.stop()
      }
    } finally {
      logged.mockRestore()
      await own.stop()
    }
  })
})

describe('@upstash/ratelimit', () => {
  it('slidingWindow(10, "10 s") admits exactly 10 of 30 sequential calls', async () => {
    const limiter = new Ratelimit({
      redis,
      limiter: Ratelimit.slidingWindow(10, '10 s'),
      ephemeralCache: false,
      analytics: false,
      prefix: 'seq',
    })
    // Its "sliding" window weights the previous fixed 10 s window: calls that straddle a boundary
    // may legitimately admit more (the rate-limit bench shows it). Start early in a window.
    const offset = Date.now() % 10_000
    if (offset > 5_000) await new Promise((resolve) => setTimeout(resolve, 10_050 - offset))
    let admitted = 0
    for (let i = 0; i < 30; i++) if ((await limiter.limit('user-1')).success) admitted++
    expect(admitted).toBe(10)
    expect((await limiter.getRemaining('user-1')).remaining).toBe(0)
  })

  it('slidingWindow(10, "10 s") with 100 concurrent calls (approximate: count printed)', async () => {
    const limiter = new Ratelimit({
      redis,
      limiter: Ratelimit.slidingWindow(10, '10 s'),
      ephemeralCache: false,
      analytics: false,
      prefix: 'par',
    })
    const results = await Promise.all(Array.from({ length: 100 }, () => limiter.limit('user-2')))
    const admitted = results.filter((r) => r.success).length
    console.log(`ratelimit slidingWindow(10, 10 s), 100 concurrent limit(): ${admitted} admitted`)
    expect(admitted).toBeGreaterThan(0)
    expect(admitted).toBeLessThanOrEqual(100)
  })
})
