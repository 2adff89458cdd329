/**
 * The local stack: the demo origin in this process, the Worker under `wrangler dev` in front of it.
 * Used by `npm start`, the e2e tests and the bench.
 */
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
}

export interface Stack {
  workerUrl: string
  originUrl: string
  adminToken: string
  /** The in-process demo origin: its counters can be read directly. */
  origin: DemoOriginServer
  worker: WranglerDev
  stop(): Promise<void>
}

export const DEFAULT_ADMIN_TOKEN = 'dev-admin-token'

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const adminToken = process.env.ADMIN_TOKEN || DEFAULT_ADMIN_TOKEN
  const origin = await serveDemoOrigin({
    port: options.originPort,
    latencyMs: options.originLatencyMs ?? 200,
  })
  let worker: WranglerDev
  try {
    worker = await startWranglerDev({
      name: 'worker',
      configPath: options.configPath ?? 'wrangler.toml',
      port: options.workerPort,
      quiet: options.quiet,
      // An admin route: probing it does not reach (and count at) the origin.
      readyPath: '/_cache/health',
      vars: { ORIGIN_URL: origin.url, ADMIN_TOKEN: adminToken, ...options.vars },
    })
  } catch (error) {
    await origin.close()
    throw error
  }
  let stopping: Promise<void> | undefined
  const stop = () =>
    (stopping ??= (async () => {
      unregister()
      await Promise.allSettled([worker.stop(), origin.close()])
    })())
  const unregister = onShutdown(stop)
  return { workerUrl: worker.url, originUrl: origin.url, adminToken, origin, worker, stop }
}
