/**
 * Pub/sub through the local REST endpoint: the official `@upstash/redis` Subscriber (server-sent
 * events) and raw fetch, against a real redis-server (Node, not workerd).
 */
import { Redis } from '@upstash/redis'
import { createClient } from 'redis'
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  MAX_SUBSCRIPTIONS,
  startUpstashRest,
  type StartedUpstashRest,
} from '../../tools/upstash-rest/server'

const TOKEN = 'test-token'
let rest: StartedUpstashRest
let redis: Redis
/** Straight to redis-server, to see the endpoint's own connections. */
let direct: ReturnType<typeof createClient>

type Subscriber = ReturnType<Redis['subscribe']>

const client = (options: { url?: string; token?: string } = {}) =>
  new Redis({
    url: options.url ?? rest.url,
    token: options.token ?? TOKEN,
    enableTelemetry: false,
    retry: false,
  })

/** What a Subscriber heard: subscribe counts, messages, pattern messages, errors. */
function listen(subscriber: Subscriber) {
  const heard = {
    counts: [] as number[],
    messages: [] as { channel: string; message: unknown }[],
    pmessages: [] as { pattern: string; channel: string; message: unknown }[],
    errors: [] as string[],
  }
  subscriber.on('subscribe', (count) => heard.counts.push(count))
  subscriber.on('psubscribe', (count) => heard.counts.push(count))
  subscriber.on('message', (data) => heard.messages.push(data))
  subscriber.on('pmessage', (data) => heard.pmessages.push(data))
  subscriber.on('error', (error) => heard.errors.push(error.message))
  return heard
}

const waitFor = <T>(check: () => T | Promise<T>, timeout = 3000) =>
  vi.waitFor(check, { timeout, interval: 20 })

/** Clients of redis-server in subscribe mode (the endpoint's subscriber connections). */
async function subscriberConnections(): Promise<number> {
  const list = String(await direct.sendCommand(['CLIENT', 'LIST']))
  return list.split('\n').filter((line) => /\bsub=[1-9]/.test(line) || /\bpsub=[1-9]/.test(line))
    .length
}

async function numsub(channel: string): Promise<number> {
  const reply = (await direct.sendCommand(['PUBSUB', 'NUMSUB', channel])) as [string, number]
  return Number(reply[1])
}

/** A raw SSE stream: everything read so far, whether it ended, and a way to hang up. */
async function openStream(url: string, init: RequestInit = {}) {
  const controller = new AbortController()
  const response = await fetch(url, {
    method: 'POST',
    body: '[]',
    ...init,
    headers: { authorization: `Bearer ${TOKEN}`, accept: 'text/event-stream', ...init.headers },
    signal: controller.signal,
  })
  const state = { text: '', ended: false }
  const reading = (async () => {
    const decoder = new TextDecoder()
    try {
      for await (const chunk of response.body!)
        state.text += decoder.decode(chunk, { stream: true })
    } catch {
      // aborted by us
    }
    state.ended = true
  })()
  return {
    response,
    state,
    reading,
    hangUp: async () => {
      controller.abort()
      await reading
    },
  }
}

const publish = (channel: string, message: string) =>
  direct.sendCommand(['PUBLISH', channel, message])

beforeAll(async () => {
  rest = await startUpstashRest({ token: TOKEN })
  redis = client()
  direct = createClient({ url: rest.redis.url })
  await direct.connect()
})
afterAll(async () => {
  await direct?.close()
  await rest?.stop()
})
beforeEach(async () => {
  rest.setFault({})
  await waitFor(async () => expect(await subscriberConnections()).toBe(0))
})

describe('subscribe through @upstash/redis', () => {
  it('receives messages from redis.publish and from an EVAL that calls PUBLISH', async () => {
    const subscriber = redis.subscribe(['chat'])
    const heard = listen(subscriber)
    try {
      await waitFor(() => expect(heard.counts).toEqual([1]))
      expect(await redis.publish('chat', 'hello')).toBe(1)
      expect(await redis.publish('chat', { user: 'ana', n: 1 })).toBe(1)
      const script = 'return redis.call("PUBLISH", KEYS[1], ARGV[1])'
      expect(await redis.eval(script, ['chat'], ['from lua'])).toBe(1)
      await redis.publish('elsewhere', 'not for us')
      await waitFor(() => expect(heard.messages).toHaveLength(3))
      expect(heard.messages).toEqual([
        { channel: 'chat', message: 'hello' },
        { channel: 'chat', message: { user: 'ana', n: 1 } },
        { channel: 'chat', message: 'from lua' },
      ])
      expect(heard.errors).toEqual([])
    } finally {
      await subscriber.unsubscribe()
    }
  })

  it('psubscribe gets pmessage with the pattern and the channel', async () => {
    const subscriber = redis.psubscribe(['news.*'])
    const heard = listen(subscriber)
    try {
      await waitFor(() => expect(heard.counts).toEqual([1]))
      await redis.publish('news.eu', { headline: 'storm' })
      await redis.publish('sport.eu', { headline: 'goal' })
      await redis.publish('news.us', [1, 'sun'])
      // The client JSON.parses pattern messages without a fallback (unlike channel messages):
      // plain text reaches it, and it reports an error.
      await redis.publish('news.txt', 'plain text')
      await waitFor(() => expect(heard.errors).toHaveLength(1))
      expect(heard.errors[0]).toMatch(/Failed to parse message/)
      expect(heard.pmessages).toEqual([
        { pattern: 'news.*', channel: 'news.eu', message: { headline: 'storm' } },
        { pattern: 'news.*', channel: 'news.us', message: [1, 'sun'] },
      ])
      expect(heard.messages).toEqual([])
    } finally {
      await subscriber.unsubscribe()
    }
  })

  it('unsubscribe() closes the Redis subscriber connections (CLIENT LIST, PUBSUB NUMSUB)', async () => {
    const subscriber = redis.subscribe(['room-1', 'room-2'])
    const other = redis.subscribe(['room-1'])
    const heard = listen(subscriber)
    const heardOther = listen(other)
    try {
      // One request, and one Redis connection, per channel: each counts 1.
      await waitFor(() => expect(heard.counts).toEqual([1, 1]))
      await waitFor(() => expect(heardOther.counts).toEqual([1]))
      expect(await subscriberConnections()).toBe(3)
      expect(rest.rest.subscriptions).toBe(3)
      expect(await numsub('room-1')).toBe(2)
      expect(await redis.publish('room-1', 'both')).toBe(2)

      await subscriber.unsubscribe(['room-1'])
      await waitFor(async () => expect(await numsub('room-1')).toBe(1))
      expect(await numsub('room-2')).toBe(1)
      await subscriber.unsubscribe()
      await other.unsubscribe()
      await waitFor(async () => expect(await subscriberConnections()).toBe(0))
      expect(await numsub('room-1')).toBe(0)
      expect(await numsub('room-2')).toBe(0)
      expect(rest.rest.subscriptions).toBe(0)
      expect(await redis.publish('room-1', 'nobody')).toBe(0)
    } finally {
      await subscriber.unsubscribe()
      await other.unsubscribe()
    }
  })

  it('a wrong or missing token is refused (401), with no Redis connection opened', async () => {
    const subscriber = client({ token: 'wrong' }).subscribe(['chat'])
    const heard = listen(subscriber)
    try {
      await waitFor(() => expect(heard.errors).toEqual([expect.stringMatching(/^Unauthorized/)]))
    } finally {
      await subscriber.unsubscribe()
    }
    const response = await fetch(`${rest.url}/subscribe/chat`, { method: 'POST', body: '[]' })
    expect(response.status).toBe(401)
    expect(await response.json()).toEqual({ error: 'Unauthorized' })
    expect(await subscriberConnections()).toBe(0)
  })

  it('channel names with spaces, %, unicode and slashes round-trip (percent-encoded in the path)', async () => {
    const names = ['with space', '100%', 'ünï€😀', 'a/b', 'q?x=1#frag', 'tab\there']
    const subscriber = redis.subscribe(names.map(encodeURIComponent))
    const heard = listen(subscriber)
    // Spaces and non-ASCII need no encoding: fetch encodes them itself.
    const plain = redis.subscribe(['with space', 'ünï€😀'])
    const heardPlain = listen(plain)
    try {
      await waitFor(() => expect(heard.counts).toHaveLength(names.length))
      await waitFor(() => expect(heardPlain.counts).toHaveLength(2))
      for (const name of names) await redis.publish(name, `to ${name}`)
      await waitFor(() => expect(heard.messages).toHaveLength(names.length))
      expect(heard.messages).toEqual(
        names.map((name) => ({ channel: name, message: `to ${name}` }))
      )
      await waitFor(() => expect(heardPlain.messages).toHaveLength(2))
      expect(heardPlain.messages.map((m) => m.channel)).toEqual(['with space', 'ünï€😀'])
    } finally {
      await subscriber.unsubscribe()
      await plain.unsubscribe()
    }
    // A lone '%' is not an escape: a clear 400, not a stream.
    const bad = await fetch(`${rest.url}/subscribe/100%`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: '[]',
    })
    expect(bad.status).toBe(400)
    expect(await bad.json()).toEqual({ error: expect.stringMatching(/malformed percent-encoding/) })
  })
})

describe('faults and limits', () => {
  it('a partition ends open streams and refuses new subscribes until it heals', async () => {
    const subscriber = redis.subscribe(['cut'])
    const heard = listen(subscriber)
    const raw = await openStream(`${rest.url}/subscribe/cut`)
    try {
      await waitFor(() => expect(heard.counts).toEqual([1]))
      await waitFor(() => expect(raw.state.text).toBe('data: subscribe,cut,1\n\n'))
      expect(await subscriberConnections()).toBe(2)

      rest.setFault({ down: true }) // what the regions API's /partition does
      await raw.reading
      expect(raw.state.ended).toBe(true)
      expect(rest.rest.subscriptions).toBe(0)
      await waitFor(async () => expect(await subscriberConnections()).toBe(0))
      await publish('cut', 'lost')

      const refused = redis.subscribe(['cut'])
      const heardRefused = listen(refused)
      await waitFor(() =>
        expect(heardRefused.errors).toEqual([expect.stringMatching(/service unavailable/)])
      )
      await refused.unsubscribe()
      const response = await fetch(`${rest.url}/subscribe/cut`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      })
      expect(response.status).toBe(503)

      rest.setFault({}) // heal
      const again = redis.subscribe(['cut'])
      const heardAgain = listen(again)
      try {
        await waitFor(() => expect(heardAgain.counts).toEqual([1]))
        await redis.publish('cut', 'back')
        await waitFor(() =>
          expect(heardAgain.messages).toEqual([{ channel: 'cut', message: 'back' }])
        )
      } finally {
        await again.unsubscribe()
      }
      expect(heard.messages).toEqual([])
      expect(raw.state.text).toBe('data: subscribe,cut,1\n\n')
    } finally {
      await subscriber.unsubscribe()
      await raw.hangUp()
    }
  })

  it('beyond maxSubscriptions a subscribe gets a clear 429; the open ones keep receiving', async () => {
    expect(MAX_SUBSCRIPTIONS).toBe(1000)
    const small = await startUpstashRest({ token: TOKEN, maxSubscriptions: 3 })
    const smallRedis = client({ url: small.url })
    const subscribers = ['a', 'b', 'c'].map((channel) => smallRedis.subscribe([channel]))
    const heard = subscribers.map(listen)
    try {
      await waitFor(() => expect(heard.map((h) => h.counts)).toEqual([[1], [1], [1]]))
      const extra = smallRedis.subscribe(['d'])
      const heardExtra = listen(extra)
      await waitFor(() =>
        expect(heardExtra.errors).toEqual([
          expect.stringMatching(/^ERR max concurrent subscriptions reached \(3 per endpoint\)/),
        ])
      )
      await extra.unsubscribe()
      expect(small.rest.subscriptions).toBe(3)
      for (const channel of ['a', 'b', 'c']) await smallRedis.publish(channel, `to ${channel}`)
      await waitFor(() =>
        expect(heard.map((h) => h.messages.map((m) => m.message))).toEqual([
          ['to a'],
          ['to b'],
          ['to c'],
        ])
      )
      // A slot freed is a slot to take.
      await subscribers[0]!.unsubscribe()
      await waitFor(() => expect(small.rest.subscriptions).toBe(2))
      const next = smallRedis.subscribe(['d'])
      const heardNext = listen(next)
      await waitFor(() => expect(heardNext.counts).toEqual([1]))
      await next.unsubscribe()
    } finally {
      for (const subscriber of subscribers) await subscriber.unsubscribe()
      await small.stop()
    }
  })

  it('a client that hangs up before its stream starts leaves no Redis connection behind', async () => {
    const slow = await startUpstashRest({ token: TOKEN, latencyMs: 150 })
    const smallDirect = createClient({ url: slow.redis.url })
    await smallDirect.connect()
    try {
      const controller = new AbortController()
      const pending = fetch(`${slow.url}/subscribe/slow`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
        body: '[]',
        signal: controller.signal,
      }).catch((error: unknown) => error)
      await waitFor(() => expect(slow.rest.subscriptions).toBe(1))
      controller.abort()
      expect(await pending).toBeInstanceOf(Error)
      await waitFor(() => expect(slow.rest.subscriptions).toBe(0))
      await new Promise((resolve) => setTimeout(resolve, 300))
      const list = String(await smallDirect.sendCommand(['CLIENT', 'LIST']))
      expect(list.split('\n').filter((line) => /\bsub=[1-9]/.test(line))).toEqual([])
      expect(slow.rest.subscriptions).toBe(0)
    } finally {
      await smallDirect.close()
      await slow.stop()
    }
  })

  it('latency: the answer waits the round trip, each message the one-way delay', async () => {
    const far = await startUpstashRest({
      token: TOKEN,
      latencyFor: (region) => (region === 'far' ? 80 : 0),
    })
    const farDirect = createClient({ url: far.redis.url })
    await farDirect.connect()
    try {
      const started = performance.now()
      const remote = await openStream(`${far.url}/from/far/subscribe/news`)
      expect(performance.now() - started).toBeGreaterThanOrEqual(2 * 80 - 1)
      const near = await openStream(`${far.url}/from/near/subscribe/news`)
      await waitFor(() => expect(remote.state.text).toBe('data: subscribe,news,1\n\n'))
      await waitFor(() => expect(near.state.text).toBe('data: subscribe,news,1\n\n'))

      const sent = performance.now()
      expect(await farDirect.sendCommand(['PUBLISH', 'news', 'one'])).toBe(2)
      await farDirect.sendCommand(['PUBLISH', 'news', 'two'])
      await waitFor(() => expect(near.state.text).toContain('two'))
      const nearMs = performance.now() - sent
      await waitFor(() => expect(remote.state.text).toContain('two'))
      const remoteMs = performance.now() - sent
      expect(nearMs).toBeLessThan(80)
      expect(remoteMs).toBeGreaterThanOrEqual(80 - 1)
      // In order, each once.
      expect(remote.state.text).toBe(
        'data: subscribe,news,1\n\ndata: message,news,one\n\ndata: message,news,two\n\n'
      )
      await remote.hangUp()
      await near.hangUp()
    } finally {
      await farDirect.close()
      await far.stop()
    }
  })
})

describe('the wire format (raw fetch)', () => {
  it('POST: text/event-stream, one subscribe line per channel, then the messages', async () => {
    const stream = await openStream(`${rest.url}/subscribe/wire/second`)
    try {
      expect(stream.response.status).toBe(200)
      expect(stream.response.headers.get('content-type')).toBe('text/event-stream')
      expect(stream.response.headers.get('cache-control')).toBe('no-cache')
      await waitFor(() =>
        expect(stream.state.text).toBe('data: subscribe,wire,1\n\ndata: subscribe,second,2\n\n')
      )
      await publish('wire', 'hello, world')
      await publish('second', '{"json":true}')
      await publish('wire', 'two\nlines')
      await waitFor(() =>
        expect(stream.state.text).toBe(
          [
            'data: subscribe,wire,1',
            '',
            'data: subscribe,second,2',
            '',
            'data: message,wire,hello, world',
            '',
            'data: message,second,{"json":true}',
            '',
            // A line break inside a message: one data line per line (SSE framing).
            'data: message,wire,two',
            'data: lines',
            '',
            '',
          ].join('\n')
        )
      )
    } finally {
      await stream.hangUp()
    }
    await waitFor(async () => expect(await numsub('wire')).toBe(0))
  })

  it('GET works too, under /from/<client-region> as well; psubscribe sends pmessage lines', async () => {
    const stream = await openStream(`${rest.url}/from/eu-west/psubscribe/log.*`, {
      method: 'GET',
      body: null,
    })
    try {
      expect(stream.response.status).toBe(200)
      await waitFor(() => expect(stream.state.text).toBe('data: psubscribe,log.*,1\n\n'))
      await publish('log.error', 'disk full')
      await waitFor(() =>
        expect(stream.state.text).toBe(
          'data: psubscribe,log.*,1\n\ndata: pmessage,log.*,log.error,disk full\n\n'
        )
      )
    } finally {
      await stream.hangUp()
    }
  })

  it('no channel is a 400; SUBSCRIBE as a command points to the stream endpoint', async () => {
    for (const path of ['/subscribe', '/subscribe/', '/psubscribe//']) {
      const response = await fetch(`${rest.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
        body: '[]',
      })
      expect(response.status, path).toBe(400)
      expect(await response.json()).toEqual({
        error: expect.stringMatching(/^ERR wrong number of arguments for '(p?subscribe)' command/),
      })
    }
    const command = await fetch(`${rest.url}/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: '["SUBSCRIBE","chat"]',
    })
    expect(command.status).toBe(400)
    expect(await command.json()).toEqual({
      error: expect.stringMatching(/use \/subscribe\/<name> \(server-sent events\)/),
    })
  })

  it('redis-server going away ends the stream', async () => {
    const own = await startUpstashRest({ token: TOKEN })
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined)
    try {
      const stream = await openStream(`${own.url}/subscribe/gone`)
      await waitFor(() => expect(stream.state.text).toBe('data: subscribe,gone,1\n\n'))
      await own.redis.process.stop(0)
      await stream.reading
      expect(stream.state.ended).toBe(true)
      expect(own.rest.subscriptions).toBe(0)
    } finally {
      logged.mockRestore()
      await own.stop()
    }
  })
})
