/**
 * An Upstash-compatible REST endpoint in front of a real redis-server, so `@upstash/redis` and
 * `@upstash/ratelimit` run locally exactly as against Upstash. Wire format: ./protocol.ts.
 *
 *   POST /            ["SET","k","v"]            → {"result":"OK"}  (Redis error: 400 {"error"})
 *   POST /pipeline    [["INCR","a"],["GET","a"]] → [{"result":1},{"result":"1"}]
 *   POST /multi-exec  same, as MULTI … EXEC       → same shape (EXECABORT: 400 {"error"})
 *   GET|POST /subscribe/<channel>  (/psubscribe/<pattern>)  → server-sent events: ./subscribe.ts
 *
 * The same routes under `/from/<client-region>` (`POST /from/eu-west/pipeline`) tell the endpoint
 * where the caller is: a simulated Worker uses `${url}/from/${itsRegion}` as its base URL (the
 * client appends `/pipeline` and `/multi-exec` to it), so `latencyFor(region)` one-way is slept
 * before the request is handled and again before the answer leaves. Requests are counted per
 * client region (`direct` for the plain routes), and commands by name as Upstash bills them
 * (`CommandStats` in ./network.ts).
 *
 * Faults for region simulation: `latencyMs` plus `extraLatencyMs` is slept before each command
 * runs; `errorRate` answers 500 without running the command; `down` answers 503 without running
 * it, and ends every open subscription stream. While redis-server is unreachable every request
 * fails fast with 503 (no offline queue) and the connection is retried in the background. The
 * client throws on any non-2xx answer without retrying (it retries only when fetch itself fails).
 */
import { timingSafeEqual, createHash } from 'node:crypto'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { serve } from '@hono/node-server'
import { Hono, type Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { createClient, ErrorReply, RESP_TYPES } from 'redis'
import { startRedisServer, type RedisServer } from '../lib/redis-server'
import {
  ProtocolError,
  encodeResult,
  errorText,
  parseBatch,
  parseSingle,
  refusal,
  toReply,
  type Reply,
} from './protocol'
import { FROM, simulatedNetwork, type CommandStats, type RequestStats } from './network'
import { ScriptShas, translateScripts } from './scripts'
import { SUBSCRIBE_ROUTES, createSubscriptions, parseSubscribePath } from './subscribe'

export { CLIENT_REGION, clientRegionOf, type CommandStats, type RequestStats } from './network'
export { MAX_SUBSCRIPTIONS } from './subscribe'

// Upstash accepts multi-megabyte requests, and the official client auto-pipelines concurrent calls
// into one /pipeline body (1000 ratelimit EVALs are ~2 MB): the cap only stops runaway bodies.
export const MAX_BODY_BYTES = 16 * 1024 * 1024

export interface Fault {
  /** Answer every request with 503. */
  down?: boolean
  /** Added to `latencyMs`. */
  extraLatencyMs?: number
  /** Share of requests (0..1) answered with 500 instead of running. */
  errorRate?: number
}

export interface UpstashRestOptions {
  redisUrl: string
  token: string
  /** Slept before each command runs (a fixed distance, whoever calls). */
  latencyMs?: number
  /**
   * One-way delay (ms) from a client region (`undefined` on the plain routes): slept before the
   * request is handled and again before the answer leaves, so a round trip costs twice.
   */
  latencyFor?: (clientRegion: string | undefined) => number
  /** Concurrent subscription streams allowed (default MAX_SUBSCRIPTIONS); beyond it, 429. */
  maxSubscriptions?: number
}

export interface UpstashRestServer {
  app: Hono
  /** Resolves once the Redis connection is first up (requests before that get a 503). */
  ready: Promise<void>
  /** Replaces the current fault; `setFault({})` clears it. */
  setFault(fault: Fault): void
  readonly fault: Readonly<Fault>
  /** Subscription streams open now, each on its own Redis connection. */
  readonly subscriptions: number
  stats(): RequestStats
  /** Commands run, by name (see `CommandStats`). */
  commands(): CommandStats
  resetStats(): void
  close(): Promise<void>
}

// Retried forever: a region's redis-server may be restarted at any time.
const RECONNECT_EVERY_MS = 150

/** A copy of `fault`, or a RangeError naming the bad field. */
export function checkFault(fault: Fault): Fault {
  const { extraLatencyMs = 0, errorRate = 0 } = fault
  if (!Number.isFinite(extraLatencyMs) || extraLatencyMs < 0) {
    throw new RangeError(`extraLatencyMs must be a finite number >= 0, got ${extraLatencyMs}`)
  }
  if (!(errorRate >= 0 && errorRate <= 1)) {
    throw new RangeError(`errorRate must be within 0..1, got ${errorRate}`)
  }
  return { ...fault }
}

const digest = (text: string) => createHash('sha256').update(text).digest()

export function createUpstashRestServer(options: UpstashRestOptions): UpstashRestServer {
  const latencyMs = options.latencyMs ?? 0
  if (!Number.isFinite(latencyMs) || latencyMs < 0) {
    throw new RangeError(`latencyMs must be a finite number >= 0, got ${latencyMs}`)
  }
  if (!options.token) throw new Error('a token is required')
  const tokenDigest = digest(options.token)
  let fault: Fault = {}
  const shas = new ScriptShas()

  // RESP2 because Upstash's JSON results are RESP2-shaped (HGETALL a flat array, not a map);
  // bulk strings as Buffers so binary values survive base64. No offline queue: a request while
  // redis-server is gone must fail at once (the Worker fails over), not wait for a reconnect.
  const redis = createClient({
    url: options.redisUrl,
    RESP: 2,
    disableOfflineQueue: true,
    commandOptions: { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } },
    socket: { reconnectStrategy: () => RECONNECT_EVERY_MS },
  })
  // One line per state change, not one per reconnect attempt.
  let redisUp: boolean | undefined
  redis.on('error', (error: Error) => {
    if (redisUp === false) return
    redisUp = false
    console.error(`[upstash-rest] redis ${options.redisUrl} unreachable: ${error.message}`)
  })
  redis.on('ready', () => {
    if (redisUp === false) console.error(`[upstash-rest] redis ${options.redisUrl} is back`)
    redisUp = true
  })
  const ready = redis.connect().then(() => undefined)
  // Rejects only when closed before the first connection: nobody needs to hear about it.
  ready.catch(() => undefined)

  /** A Redis error reply is the caller's (400); anything else means Redis was unreachable. */
  const failure = (error: unknown) =>
    error instanceof ProtocolError
      ? error
      : new ProtocolError(error instanceof ErrorReply ? 400 : 503, errorText(error))

  const run = async (command: string[]): Promise<unknown> => {
    const { args, reply } = translateScripts(command, shas)
    const result = await redis.sendCommand(args)
    return reply ?? result
  }

  /**
   * MULTI … EXEC on the shared connection: the commands are queued in one synchronous run, so no
   * other request's command can land inside the transaction. (node-redis's own `multi()` drops
   * the Buffer type mapping for EXEC's reply.)
   */
  const transaction = async (commands: string[][]) => {
    const translated = commands.map((command) => translateScripts(command, shas))
    const multi = redis.sendCommand(['MULTI'])
    const queued = translated.map(({ args }) => redis.sendCommand(args))
    const exec = redis.sendCommand(['EXEC'])
    const [multiOutcome, execOutcome, ...queuedOutcomes] = await Promise.allSettled([
      multi,
      exec,
      ...queued,
    ])
    if (multiOutcome!.status === 'rejected') throw multiOutcome!.reason
    if (execOutcome!.status === 'rejected') {
      // EXECABORT: a command was refused while queueing; name it.
      const firstError = queuedOutcomes.find((o) => o.status === 'rejected')
      const why = firstError ? `: ${errorText(firstError.reason)}` : ''
      const status = execOutcome!.reason instanceof ErrorReply ? 400 : 503
      throw new ProtocolError(status, `${errorText(execOutcome!.reason)}${why}`)
    }
    const replies: unknown = execOutcome!.value
    if (!Array.isArray(replies)) throw new Error(`EXEC answered ${String(replies)}`)
    return replies.map((value, i) =>
      value instanceof ErrorReply
        ? { error: value.message }
        : { result: translated[i]!.reply ?? value }
    )
  }

  /** The injected latency and errors, then whether Redis is there: before any command runs. */
  const admit = async () => {
    const delay = latencyMs + (fault.extraLatencyMs ?? 0)
    if (delay > 0) await sleep(delay)
    if (fault.errorRate && Math.random() < fault.errorRate) {
      throw new ProtocolError(500, 'ERR injected fault')
    }
    if (!redis.isReady) {
      throw new ProtocolError(503, `ERR redis unavailable: ${options.redisUrl} is not connected`)
    }
  }

  const app = new Hono()

  app.onError((error, c) => {
    // The rest of an oversized body is never read: the connection cannot be reused.
    if (error instanceof ProtocolError && error.status === 413) c.header('Connection', 'close')
    if (error instanceof ProtocolError) return c.json({ error: error.message }, error.status)
    console.error('[upstash-rest] unexpected error:', error)
    return c.json({ error: `ERR internal error: ${error.message}` }, 500)
  })
  const notFound = (c: Context) =>
    c.json({ error: `ERR unknown endpoint ${c.req.method} ${c.req.path}` }, 404)
  app.notFound(notFound)

  const network = simulatedNetwork(options.latencyFor, notFound)
  app.use('*', network.middleware)

  // A message travels like an answer: the client region's one-way delay plus the endpoint's own.
  const subscriptions = createSubscriptions({
    redisUrl: options.redisUrl,
    maxSubscriptions: options.maxSubscriptions,
    admit,
    messageDelayMs: (clientRegion) =>
      network.oneWayMs(clientRegion) + latencyMs + (fault.extraLatencyMs ?? 0),
  })

  app.use('*', async function faults(_c, next) {
    if (fault.down) throw new ProtocolError(503, 'ERR service unavailable (injected fault: down)')
    await next()
  })

  app.use('*', async function auth(c, next) {
    const header = c.req.header('authorization') ?? ''
    const presented = header.startsWith('Bearer ') ? header.slice(7) : c.req.query('_token')
    if (!presented || !timingSafeEqual(digest(presented), tokenDigest)) {
      throw new ProtocolError(401, 'Unauthorized')
    }
    await next()
  })

  app.use(
    '*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new ProtocolError(413, `ERR request body larger than ${MAX_BODY_BYTES} bytes`)
      },
    })
  )

  /** The parsed body, after the injected latency and errors. */
  const prepare = async (c: Context): Promise<{ body: unknown; base64: boolean }> => {
    const format = c.req.header('upstash-response-format')
    if (format && format.toLowerCase() !== 'json') {
      throw new ProtocolError(400, `ERR Upstash-Response-Format ${format} is not supported here`)
    }
    let body: unknown
    try {
      body = JSON.parse(await c.req.text())
    } catch {
      throw new ProtocolError(400, 'ERR malformed JSON body')
    }
    await admit()
    const base64 = c.req.header('upstash-encoding')?.toLowerCase() === 'base64'
    return { body, base64 }
  }

  const refuse = (commands: string[][]) => {
    for (const command of commands) {
      const why = refusal(command)
      if (why) throw new ProtocolError(400, why)
    }
  }

  app.on('POST', ['/', FROM], async (c) => {
    const { body, base64 } = await prepare(c)
    const command = parseSingle(body)
    refuse([command])
    network.countCommands([command[0]!])
    try {
      return c.json({ result: encodeResult(await run(command), base64) })
    } catch (error) {
      throw failure(error)
    }
  })

  app.on('POST', ['/pipeline', `${FROM}/pipeline`], async (c) => {
    const { body, base64 } = await prepare(c)
    const commands = parseBatch(body)
    refuse(commands)
    network.countCommands(commands.map((command) => command[0]!))
    const outcomes = await Promise.allSettled(commands.map(run))
    // Redis went away mid-pipeline: the whole request failed, as a 5xx the client throws on.
    const lost = outcomes.find((o) => o.status === 'rejected' && !(o.reason instanceof ErrorReply))
    if (lost) throw failure((lost as PromiseRejectedResult).reason)
    return c.json(outcomes.map((outcome): Reply => toReply(outcome, base64)))
  })

  app.on('POST', ['/multi-exec', `${FROM}/multi-exec`], async (c) => {
    const { body, base64 } = await prepare(c)
    const commands = parseBatch(body)
    refuse(commands)
    network.countCommands(commands.map((command) => command[0]!))
    let replies: Reply[]
    try {
      replies = await transaction(commands)
    } catch (error) {
      throw failure(error)
    }
    return c.json(
      replies.map((reply) =>
        'error' in reply ? reply : { result: encodeResult(reply.result, base64) }
      )
    )
  })

  // Upstash lists a subscription as one SUBSCRIBE command per channel, and no command per message
  // delivered (upstash.com/docs/realtime/overall/pricing, read 2026-12-03): counted once it holds.
  app.on(['GET', 'POST'], SUBSCRIBE_ROUTES, async (c) => {
    const response = await subscriptions.handle(c)
    const { pattern, names } = parseSubscribePath(new URL(c.req.url).pathname)
    network.countCommands(names.map(() => (pattern ? 'PSUBSCRIBE' : 'SUBSCRIBE')))
    return response
  })

  let closing: Promise<void> | undefined
  return {
    app,
    ready,
    setFault(next) {
      fault = checkFault(next)
      if (fault.down) subscriptions.cutAll('ERR service unavailable (injected fault: down)')
    },
    get fault() {
      return fault
    },
    get subscriptions() {
      return subscriptions.open
    },
    stats: network.stats,
    commands: network.commands,
    resetStats: network.resetStats,
    close: () =>
      (closing ??= (async () => {
        subscriptions.cutAll('the endpoint is closing')
        if (!redis.isOpen) return
        // close() waits for replies; a reconnecting client has none coming.
        if (redis.isReady) await redis.close().catch(() => redis.destroy())
        else redis.destroy()
      })()),
  }
}

export interface StartedUpstashRest {
  /** `http://127.0.0.1:<port>`: pass as `url` to `new Redis({ url, token })`. */
  url: string
  port: number
  token: string
  redis: RedisServer
  rest: UpstashRestServer
  setFault(fault: Fault): void
  stats(): RequestStats
  commands(): CommandStats
  resetStats(): void
  /** Stops the HTTP server, then redis-server. Idempotent. */
  stop(): Promise<void>
}

export interface StartUpstashRestOptions {
  token: string
  /** The REST endpoint's port (default a free one). */
  port?: number
  /** redis-server's port (default a free one). */
  redisPort?: number
  latencyMs?: number
  latencyFor?: (clientRegion: string | undefined) => number
  maxSubscriptions?: number
}

/** A fresh redis-server and the REST endpoint in front of it, on 127.0.0.1. */
export async function startUpstashRest(
  options: StartUpstashRestOptions
): Promise<StartedUpstashRest> {
  const redis = await startRedisServer({ port: options.redisPort })
  let rest: UpstashRestServer | undefined
  try {
    const api = createUpstashRestServer({
      redisUrl: redis.url,
      token: options.token,
      latencyMs: options.latencyMs,
      latencyFor: options.latencyFor,
      maxSubscriptions: options.maxSubscriptions,
    })
    rest = api
    await api.ready
    const server = await new Promise<{ server: Server; port: number }>((resolve, reject) => {
      const server = serve(
        { fetch: api.app.fetch, hostname: '127.0.0.1', port: options.port ?? 0 },
        (info: AddressInfo) => {
          server.off('error', reject)
          resolve({ server, port: info.port })
        }
      ) as Server
      server.once('error', reject)
    })
    let stopping: Promise<void> | undefined
    const stop = () =>
      (stopping ??= (async () => {
        await new Promise<void>((done) => {
          server.server.close(() => done())
          server.server.closeAllConnections()
        })
        await api.close()
        await redis.stop()
      })())
    return {
      url: `http://127.0.0.1:${server.port}`,
      port: server.port,
      token: options.token,
      redis,
      rest: api,
      setFault: (fault) => api.setFault(fault),
      stats: () => api.stats(),
      commands: () => api.commands(),
      resetStats: () => api.resetStats(),
      stop,
    }
  } catch (error) {
    await rest?.close()
    await redis.stop()
    throw error
  }
}
