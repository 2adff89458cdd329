import type { TestProject } from 'vitest/node'
import path from 'node:path'
import { unstable_readConfig } from 'wrangler'
import { startStack } from '../../tools/lib/stack'
import { REPO_ROOT } from '../../tools/lib/wrangler-dev'

declare module 'vitest' {
  export interface ProvidedContext {
    workerUrl: string
    originUrl: string
    adminToken: string
    /** The simulated L2 regions' control API (tools/regions/control.ts). */
    regionsControlUrl: string
    regionNames: string[]
  }
}

/**
 * wrangler.toml's policy with L2 deadlines sized for a loaded 2-core machine. Its 150/400 ms are
 * for real networks; here the regions are a few ms away but can be starved of CPU, and a starved
 * read that times out fails over to another region or makes the Coalescer fetch again, and a starved
 * purge write misses its region, which the tests (one origin fetch per region, each region its own
 * fill, a purge recorded) would read as wrong behaviour.
 * No test relies on an L2 timeout: a stopped region refuses connections at once.
 */
function e2eCacheConfig(): Record<string, unknown> {
  const { vars } = unstable_readConfig({ config: path.join(REPO_ROOT, 'wrangler.toml') })
  const config = structuredClone(vars.CACHE_CONFIG) as {
    l2?: Record<string, unknown>
    rateLimits?: unknown[]
    routes?: unknown[]
  }
  config.l2 = { ...config.l2, timeoutMs: 1500, readDeadlineMs: 3000, writeTimeoutMs: 5000 }
  // A miss-rate limit on its own paths (test/e2e/miss-rate-limit.test.ts).
  config.rateLimits = [
    ...(config.rateLimits ?? []),
    {
      name: 'e2e-misses',
      pattern: '/echo/e2e-miss/**',
      counts: 'origin',
      identity: { ip: true },
      limit: 5,
      windowSeconds: 60,
    },
  ]
  // Route features on their own paths, ahead of the catch-all (test/e2e/route-features.test.ts).
  config.routes = [
    {
      // The echo origin answers any id; the demo origin's product list says which exist. A tiny
      // false-positive rate makes "every absent id is stopped" an exact assertion.
      pattern: '/echo/e2e-membership/*',
      ttl: 60,
      membership: { source: '/__ids/products', refreshSeconds: 60, falsePositiveRate: 0.000001 },
    },
    { pattern: '/echo/e2e-jitter/**', ttl: 100, freshnessJitter: 0.5 },
    { pattern: '/echo/e2e-no-jitter/**', ttl: 100 },
    { pattern: '/echo/e2e-write-through/**', writeThrough: true },
    ...(config.routes ?? []),
  ]
  return config
}

export default async function setup(project: TestProject) {
  // Regions at a tenth of the real distances: the geography shows, the suite stays fast.
  const stack = await startStack({
    originLatencyMs: 20,
    quiet: true,
    regions: { latencyScale: 0.1 },
    vars: { CACHE_CONFIG: JSON.stringify(e2eCacheConfig()) },
  })
  project.provide('workerUrl', stack.workerUrl)
  project.provide('originUrl', stack.originUrl)
  project.provide('adminToken', stack.adminToken)
  project.provide('regionsControlUrl', stack.regions!.controlUrl)
  project.provide(
    'regionNames',
    stack.regions!.regions.map((r) => r.name)
  )
  return async () => {
    await stack.stop()
  }
}
