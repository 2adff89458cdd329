/**
 * The local stack: the demo origin in this process, the simulated L2 regions (redis-servers behind
 * Upstash-compatible endpoints), and the Worker under `wrangler dev` in front of them.
 * Used by `npm start`, the e2e tests and the bench.
 */
import { startRegions, type Regions, type RegionsOptions } from '../regions'
import { serveDemoOrigin, type DemoOriginServer } from './origin-server'
import { onShutdown } from './processes'
import { startWranglerDev, type WranglerDev } from './wrangler-dev'

export interface StackOptions {
  /** Demo origin delay per request (default 200 ms). */
  originLatencyMs?: number
  quiet?: boolean
  /** Extra `--var` bindings for the Worker (e.g. `CACHE_CONFIG` as a JSON string). */
  vars?: Record<string, string>
  /** Preferred ports; free ones when omitted. */
  workerPort?: number
  originPort?: number
  /** The Worker's wrangler config, relative to the repo root (default `wrangler.toml`). */
  configPath?: string
  /**
   * The simulated L2 regions (started by default); the Worker gets them as `L2_REGIONS` with
   * `SIMULATION=1`. `false`: none, and neither var.
   */
  regions?: false | RegionsOptions
  /** Told as each part comes up (`npm start` prints it), with the seconds since the start. */
  onPart?: (part: string, detail: string, seconds: number) => void
}

export interface Stack {
  workerUrl: string
  originUrl: string
  adminToken: string
  /** The in-process demo origin: its counters can be read directly. */
  origin: DemoOriginServer
  /** Undefined when started with `regions: false`. */
  regions: Regions | undefined
  worker: WranglerDev
  stop(): Promise<void>
}

export const DEFAULT_ADMIN_TOKEN = 'dev-admin-token'

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const adminToken = process.env.ADMIN_TOKEN || DEFAULT_ADMIN_TOKEN
  const started = Date.now()
  const told =
    <T>(part: string, detail: (value: T) => string) =>
    (value: T): T => {
      options.onPart?.(part, detail(value), (Date.now() - started) / 1000)
      return value
    }
  // The origin and the regions do not depend on each other: start them together.
  const [originOutcome, regionsOutcome] = await Promise.allSettled([
    serveDemoOrigin({ port: options.originPort, latencyMs: options.originLatencyMs ?? 200 }).then(
      told('demo origin', (origin) => origin.url)
    ),
    options.regions === false
      ? undefined
      : startRegions(options.regions).then(
          told('L2 regions', (regions) => regions.regions.map((region) => region.name).join(', '))
        ),
  ])
  const stopParts = () =>
    Promise.allSettled([
      originOutcome.status === 'fulfilled' ? originOutcome.value.close() : undefined,
      regionsOutcome.status === 'fulfilled' ? regionsOutcome.value?.stop() : undefined,
    ])
  if (originOutcome.status === 'rejected' || regionsOutcome.status === 'rejected') {
    await stopParts()
    const failed = originOutcome.status === 'rejected' ? originOutcome : regionsOutcome
    throw (failed as PromiseRejectedResult).reason
  }
  const origin = originOutcome.value
  const regions = regionsOutcome.value
  const simulation: Record<string, string> = regions
    ? { L2_REGIONS: regions.l2RegionsJson, SIMULATION: '1' }
    : {}
  let worker: WranglerDev
  try {
    worker = await startWranglerDev({
      name: 'worker',
      configPath: options.configPath ?? 'wrangler.toml',
      port: options.workerPort,
      quiet: options.quiet,
      // An admin route: probing it does not reach (and count at) the origin.
      readyPath: '/_cache/health',
      vars: { ORIGIN_URL: origin.url, ADMIN_TOKEN: adminToken, ...simulation, ...options.vars },
    }).then(told('Worker (wrangler dev)', (dev) => dev.url))
  } catch (error) {
    await stopParts()
    throw error
  }
  let stopping: Promise<void> | undefined
  const stop = () =>
    (stopping ??= (async () => {
      unregister()
      await Promise.allSettled([worker.stop(), stopParts()])
    })())
  const unregister = onShutdown(stop)
  return { workerUrl: worker.url, originUrl: origin.url, adminToken, origin, regions, worker, stop }
}
