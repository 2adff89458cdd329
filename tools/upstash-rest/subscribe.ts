/**
 * Upstash's pub/sub over REST: `GET|POST /subscribe/<channel>[/<channel>…]` and
 * `/psubscribe/<pattern>[/…]` (also under `/from/<client-region>`) answer a server-sent-event
 * stream fed by a dedicated Redis connection in SUBSCRIBE (PSUBSCRIBE) mode:
 *
 *   data: subscribe,<channel>,<count>            one per channel, once subscribed
 *   data: message,<channel>,<message>            one per message published to it
 *   data: psubscribe,<pattern>,<count>           (patterns)
 *   data: pmessage,<pattern>,<channel>,<message>
 *
 * Sources followed:
 * - the official client, `@upstash/redis` 1.39.0 (node_modules/@upstash/redis/chunk-*.mjs,
 *   `SubscribeCommand`, `PSubscribeCommand`, `Subscriber.handleMessage`, `HttpClient.request`):
 *   POST `<base>/subscribe/<channel>` (unencoded, one channel per request), `Accept:
 *   text/event-stream`, body `[]`, bearer token; a non-2xx answer is an error (JSON `{error}`);
 *   the stream is split on `\n`, only lines starting `data: ` count, the count is parsed with
 *   parseInt and a message with JSON.parse, falling back to the raw text;
 * - its docs (upstash/redis-js "Pub/Sub": a `Subscriber` over HTTP using Server-Sent Events) and
 *   its tests (pkg/commands/subscribe.test.ts: two subscribers of one channel each see count 1,
 *   i.e. the count is Redis's own per-connection count);
 * - the REST API page (upstash.com/docs/redis/features/restapi): `REST_URL/COMMAND/arg1/…/argN`,
 *   one path segment per argument, GET and POST (also HEAD, PUT: not served here), `401` without
 *   a valid token. (Upstash's per-command page for SUBSCRIBE calls it TCP-only; the client and
 *   its docs above say otherwise, and the client is what we must serve.)
 * No Upstash source documents a heartbeat or any line sent on connect besides the `subscribe`
 * confirmations, so none is sent. Each event ends with a blank line: the SSE framing, which the
 * client ignores, and what a third-party Upstash-compatible proxy found by code search says it
 * saw from Upstash. A message spanning lines becomes several `data:` lines, as the SSE standard
 * says (EventSource joins them again; `@upstash/redis` reads each line on its own).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Context } from 'hono'
import { createClient } from 'redis'
import { FROM, clientRegionOf } from './network'
import { ProtocolError, errorText } from './protocol'

/** At most this many streams per endpoint: each holds a Redis connection and a socket. */
export const MAX_SUBSCRIPTIONS = 1000

export const SUBSCRIBE_ROUTES = ['subscribe', 'psubscribe'].flatMap((verb) => [
  `/${verb}/*`,
  `${FROM}/${verb}/*`,
])

const ROUTE = /^(?:\/from\/[^/]+)?\/(p?subscribe)(?:\/(.*))?$/

export interface SubscribeRequest {
  pattern: boolean
  /** Channels (patterns), percent-decoded, one per path segment. */
  names: string[]
}

/**
 * The channels of `/subscribe/a/b%2Fc` (`a`, `b/c`): a segment is one argument, as on every
 * Upstash REST path, so a `/` inside a name must be sent as `%2F`. Empty segments are skipped.
 */
export function parseSubscribePath(pathname: string): SubscribeRequest {
  const [, verb, rest = ''] = ROUTE.exec(pathname) ?? []
  if (!verb) throw new ProtocolError(400, `ERR not a subscribe path: ${pathname}`)
  const names = rest
    .split('/')
    .filter((segment) => segment !== '')
    .map((segment) => {
      try {
        return decodeURIComponent(segment)
      } catch {
        throw new ProtocolError(
          400,
          `ERR malformed percent-encoding in ${verb} argument ${segment}`
        )
      }
    })
  if (names.length === 0) {
    throw new ProtocolError(400, `ERR wrong number of arguments for '${verb}' command`)
  }
  return { pattern: verb === 'psubscribe', names }
}

/** One SSE event whose data is `text`: a `data:` line per line of it, then a blank line. */
export function sseEvent(text: string): string {
  return `${text
    .split(/\r\n|\r|\n/)
    .map((line) => `data: ${line}\n`)
    .join('')}\n`
}

export interface SubscriptionsOptions {
  redisUrl: string
  maxSubscriptions?: number
  /** The injected latency and faults every command sees first; throws a ProtocolError. */
  admit(): Promise<void>
  /** One-way delay (ms) of each message on its way to a client in `clientRegion`. */
  messageDelayMs(clientRegion: string | undefined): number
}

export interface Subscriptions {
  /** The handler of SUBSCRIBE_ROUTES (GET and POST). */
  handle(c: Context): Promise<Response>
  /** Streams open (or being opened) now. */
  readonly open: number
  /** Ends every stream and closes its Redis connection (a partition, or the endpoint closing). */
  cutAll(reason: string): void
}

const encoder = new TextEncoder()

export function createSubscriptions(options: SubscriptionsOptions): Subscriptions {
  const max = options.maxSubscriptions ?? MAX_SUBSCRIPTIONS
  if (!Number.isInteger(max) || max < 0) {
    throw new RangeError(`maxSubscriptions must be an integer >= 0, got ${max}`)
  }
  const live = new Set<(reason: string) => void>()

  async function handle(c: Context): Promise<Response> {
    const { pattern, names } = parseSubscribePath(new URL(c.req.url).pathname)
    // Counted from arrival: streams still sleeping through the latency hold a slot too.
    if (live.size >= max) {
      throw new ProtocolError(429, `ERR max concurrent subscriptions reached (${max} per endpoint)`)
    }
    const clientRegion = clientRegionOf(c.req.path) ?? undefined

    let ended: string | undefined
    let stream: ReadableStreamDefaultController<Uint8Array> | undefined
    const subscriber = createClient({
      url: options.redisUrl,
      RESP: 2,
      disableOfflineQueue: true,
      // A subscriber that lost redis-server ends its stream; the client subscribes again.
      socket: { reconnectStrategy: false },
    })
    const end = (reason: string) => {
      if (ended !== undefined) return
      ended = reason
      live.delete(end)
      c.req.raw.signal.removeEventListener('abort', onAbort)
      if (subscriber.isOpen) subscriber.destroy()
      try {
        stream?.close()
      } catch {
        // already closed or cancelled by the client
      }
    }
    const onAbort = () => end('the client went away')
    live.add(end)
    c.req.raw.signal.addEventListener('abort', onAbort)
    subscriber.on('error', (error: Error) => end(errorText(error)))
    subscriber.on('end', () => end('the Redis connection closed'))

    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        stream = controller
      },
      cancel: () => end('the client went away'),
    })
    const send = (text: string) => {
      if (ended === undefined) stream!.enqueue(encoder.encode(sseEvent(text)))
    }
    // Each message waits out the one-way delay from its arrival, in arrival order.
    let delivered = Promise.resolve()
    const deliver = (text: string) => {
      const due = performance.now() + options.messageDelayMs(clientRegion)
      delivered = delivered.then(async () => {
        const wait = due - performance.now()
        if (wait > 0 && ended === undefined) await sleep(wait)
        send(text)
      })
    }
    const stillWanted = () => {
      if (ended !== undefined) throw new ProtocolError(503, `ERR subscription ended: ${ended}`)
    }

    try {
      await options.admit()
      stillWanted()
      await subscriber.connect()
      stillWanted()
      // Redis confirms each argument with the connection's running count of distinct names.
      const seen = new Set<string>()
      for (const name of names) {
        if (pattern) {
          await subscriber.pSubscribe(name, (message, channel) =>
            deliver(`pmessage,${name},${channel},${message}`)
          )
        } else {
          await subscriber.subscribe(name, (message) => deliver(`message,${name},${message}`))
        }
        stillWanted()
        seen.add(name)
        send(`${pattern ? 'psubscribe' : 'subscribe'},${name},${seen.size}`)
      }
    } catch (error) {
      // Cut (a partition, the client gone) while connecting: say so, not what the cut broke.
      const cut = ended
      end(errorText(error))
      if (error instanceof ProtocolError) throw error
      throw new ProtocolError(503, cut ? `ERR subscription ended: ${cut}` : errorText(error))
    }
    return new Response(body, {
      headers: {
        'Content-Type': 'text/event-stream',
        'Cache-Control': 'no-cache',
        Connection: 'keep-alive',
      },
    })
  }

  return {
    handle,
    get open() {
      return live.size
    },
    cutAll(reason) {
      for (const end of [...live]) end(reason)
    },
  }
}
