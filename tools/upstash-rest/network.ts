/**
 * The simulated network in front of an endpoint: which client region a request comes from (the
 * `/from/<client-region>` prefix), how far away that is, how many requests each region sent, and
 * how many commands of each name the endpoint ran (what Upstash bills).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Context, MiddlewareHandler } from 'hono'

/** The `<client-region>` of `/from/<client-region>`; other names are unknown endpoints (404). */
export const CLIENT_REGION = /^[a-z0-9-]{1,32}$/
/** The route prefix, as a Hono path. */
export const FROM = '/from/:clientRegion'

/** `eu-west` for `/from/eu-west[/…]`, undefined for a plain route, null for a malformed name. */
export function clientRegionOf(path: string): string | undefined | null {
  if (!path.startsWith('/from/')) return undefined
  const name = path.slice('/from/'.length).split('/', 1)[0]!
  return CLIENT_REGION.test(name) ? name : null
}

/** What an endpoint has received since it started (or since `resetStats()`). */
export interface RequestStats {
  /** Requests per client region; `direct` counts the plain routes. */
  requests: Record<string, number>
  /** Requests answered with a 5xx (injected faults, redis-server unreachable). */
  errors: number
}

/**
 * Commands run since the endpoint started (or since `resetStats()`), by upper-case name, counted as
 * Upstash bills them: each command of a /pipeline or /multi-exec body, EVAL and EVALSHA as one
 * each, SUBSCRIBE (PSUBSCRIBE) once per channel (pattern) subscribed, not per message delivered.
 */
export type CommandStats = Record<string, number>

export interface SimulatedNetwork {
  middleware: MiddlewareHandler
  /** The one-way delay (ms) from `clientRegion` (undefined: a plain route). */
  oneWayMs(clientRegion: string | undefined): number
  stats(): RequestStats
  /** Counts commands the endpoint is about to run (their first element is the name). */
  countCommands(names: readonly string[]): void
  commands(): CommandStats
  /** Zeroes the request and the command counters. */
  resetStats(): void
}

/**
 * Counts each request on arrival, then sleeps `latencyFor(clientRegion)` one-way there and again
 * before the answer leaves, whatever the answer: the network does not know status codes.
 */
export function simulatedNetwork(
  latencyFor: ((clientRegion: string | undefined) => number) | undefined,
  notFound: (c: Context) => Response
): SimulatedNetwork {
  let stats: RequestStats = { requests: {}, errors: 0 }
  let commands: CommandStats = {}
  const oneWayMs = (clientRegion: string | undefined) => {
    const ms = latencyFor?.(clientRegion) ?? 0
    return Number.isFinite(ms) && ms > 0 ? ms : 0
  }
  return {
    middleware: async function network(c, next) {
      const clientRegion = clientRegionOf(c.req.path)
      if (clientRegion === null) return notFound(c)
      const from = clientRegion ?? 'direct'
      stats.requests[from] = (stats.requests[from] ?? 0) + 1
      const oneWay = oneWayMs(clientRegion)
      if (oneWay > 0) await sleep(oneWay)
      await next()
      if (c.res.status >= 500) stats.errors++
      if (oneWay > 0) await sleep(oneWay)
    },
    oneWayMs,
    stats: () => ({ requests: { ...stats.requests }, errors: stats.errors }),
    countCommands(names) {
      for (const name of names) {
        const key = name.toUpperCase()
        commands[key] = (commands[key] ?? 0) + 1
      }
    },
    commands: () => ({ ...commands }),
    resetStats() {
      stats = { requests: {}, errors: 0 }
      commands = {}
    },
  }
}
