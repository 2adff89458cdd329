/**
 * Simulated L2 regions for the local stack: each a real redis-server behind its own
 * Upstash-compatible REST endpoint, all sharing one token, with a one-way latency matrix applied
 * per client region (the Worker calls `${url}/from/${itsRegion}`), plus a control API to stop,
 * start and fault them. See ./control.ts for the routes.
 */
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { onShutdown } from '../lib/processes'
import {
  CLIENT_REGION,
  type CommandStats,
  type Fault,
  type RequestStats,
} from '../upstash-rest/server'
import { createControlApp } from './control'
import { DEFAULT_REGION_NAMES, latencyMatrix, latencyTo, type LatencyMatrix } from './latency'
import { startSimulatedRegion, type RegionStatus, type SimulatedRegion } from './region'

export { DEFAULT_LATENCY_MS, DEFAULT_REGION_NAMES, type LatencyMatrix } from './latency'
export type { RegionStatus } from './region'

export const DEFAULT_REGIONS_TOKEN = 'dev-l2-token'

export interface RegionsOptions {
  /** Region names (`[a-z0-9-]{1,32}`); default us-east, eu-west, ap-south. */
  names?: readonly string[]
  /** The REST token every region accepts (default `dev-l2-token`). */
  token?: string
  /** Multiplies every delay (default 1; tests use 0.1). */
  latencyScale?: number
  /** One-way ms `[clientRegion][region]` replacing DEFAULT_LATENCY_MS (then scaled). */
  latencyMs?: LatencyMatrix
  /** The control API's port (default a free one). */
  controlPort?: number
}

/** What the Worker gets, as JSON, in `L2_REGIONS`. */
export interface RegionEndpoint {
  name: string
  url: string
  token: string
}

export interface Regions {
  regions: RegionEndpoint[]
  controlUrl: string
  /** `JSON.stringify(regions)`: the Worker's `L2_REGIONS` var. */
  l2RegionsJson: string
  /** The scaled one-way delays in use, `[clientRegion][region]`. */
  latencyMs: LatencyMatrix
  status(): RegionStatus[]
  /** Kills the region's redis-server and closes its endpoint (ports kept). Idempotent. */
  stopRegion(name: string): Promise<void>
  /** Both back on the same ports, with no data. Idempotent; also recovers from `killRedis`. */
  startRegion(name: string): Promise<void>
  /** A crash: kills only the region's redis-server; its endpoint answers 503 meanwhile. */
  killRedis(name: string): Promise<void>
  /** Replaces the region's fault; `{}` clears it. */
  setFault(name: string, fault: Fault): void
  /** Requests per region, per client region. */
  stats(): Record<string, RequestStats>
  /** Commands per region, by name, as Upstash bills them. */
  commandStats(): Record<string, CommandStats>
  /** Subscription streams open now, per region. */
  subscriptions(): Record<string, number>
  /** Zeroes the request and the command counters. */
  resetStats(): void
  /** Every region up, faults cleared, counters zeroed. */
  reset(): Promise<void>
  stop(): Promise<void>
}

function checkNames(names: readonly string[]): void {
  if (names.length === 0) throw new Error('at least one region is needed')
  for (const name of names) {
    if (!CLIENT_REGION.test(name))
      throw new Error(`region name ${name} must match ${CLIENT_REGION}`)
  }
  if (new Set(names).size !== names.length) throw new Error(`duplicate region names: ${names}`)
}

function listen(fetch: Parameters<typeof serve>[0]['fetch'], port = 0) {
  return new Promise<{ server: Server; port: number }>((resolve, reject) => {
    const server = serve({ fetch, hostname: '127.0.0.1', port }, (info: AddressInfo) => {
      server.off('error', reject)
      resolve({ server, port: info.port })
    }) as Server
    server.once('error', reject)
  })
}

export async function startRegions(options: RegionsOptions = {}): Promise<Regions> {
  const names = [...(options.names ?? DEFAULT_REGION_NAMES)]
  checkNames(names)
  const token = options.token ?? DEFAULT_REGIONS_TOKEN
  const matrix = latencyMatrix(names, options.latencyScale ?? 1, options.latencyMs)

  const started = await Promise.allSettled(
    names.map((name) => startSimulatedRegion({ name, token, latencyMs: latencyTo(matrix, name) }))
  )
  const byName = new Map<string, SimulatedRegion>()
  for (const outcome of started) {
    if (outcome.status === 'fulfilled') byName.set(outcome.value.name, outcome.value)
  }
  const failed = started.find((o) => o.status === 'rejected')
  if (failed) {
    await Promise.allSettled([...byName.values()].map((r) => r.stop()))
    throw failed.reason
  }

  const region = (name: string) => {
    const found = byName.get(name)
    if (!found) throw new Error(`unknown region ${name}`)
    return found
  }
  const all = () => [...byName.values()]
  const reset = async () => {
    await Promise.all(all().map((r) => r.start()))
    for (const r of all()) {
      r.setFault({})
      r.resetStats()
    }
  }

  let control: { server: Server; port: number }
  try {
    control = await listen(
      createControlApp({ region: (name) => byName.get(name), all, reset }).fetch,
      options.controlPort
    )
  } catch (error) {
    await Promise.allSettled(all().map((r) => r.stop()))
    throw error
  }

  let stopping: Promise<void> | undefined
  const stop = () =>
    (stopping ??= (async () => {
      unregister()
      await new Promise<void>((done) => {
        control.server.close(() => done())
        control.server.closeAllConnections()
      })
      await Promise.allSettled(all().map((r) => r.stop()))
    })())
  const unregister = onShutdown(stop)

  const regions = all().map((r) => ({ name: r.name, url: r.url, token }))
  return {
    regions,
    controlUrl: `http://127.0.0.1:${control.port}`,
    l2RegionsJson: JSON.stringify(regions),
    latencyMs: matrix,
    status: () => all().map((r) => r.status()),
    stopRegion: async (name) => region(name).stop(),
    startRegion: async (name) => region(name).start(),
    killRedis: async (name) => region(name).killRedis(),
    setFault: (name, fault) => region(name).setFault(fault),
    stats: () => Object.fromEntries(all().map((r) => [r.name, r.stats()])),
    commandStats: () => Object.fromEntries(all().map((r) => [r.name, r.commands()])),
    subscriptions: () => Object.fromEntries(all().map((r) => [r.name, r.status().subscriptions])),
    resetStats: () => all().forEach((r) => r.resetStats()),
    reset,
    stop,
  }
}
