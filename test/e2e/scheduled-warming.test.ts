/**
 * Scheduled warming on a `wrangler dev --test-scheduled` of its own (no L2), whose CACHE_CONFIG sets
 * `warming`: `GET /__scheduled` runs the Cron Trigger as Cloudflare would, the warmed URLs are hits
 * for the next client, a URL slower than the run's deadline is given up, and the counts reach the
 * Stats object.
 */
import path from 'node:path'
import { unstable_readConfig } from 'wrangler'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { freePort } from '../../tools/lib/ports'
import { REPO_ROOT, startWranglerDev, type WranglerDev } from '../../tools/lib/wrangler-dev'
import { parseExposition } from '../helpers/prometheus'

const CRON = '*/5 * * * *'
const DEADLINE_MS = 6000
/** The slow URL's answer time (the demo origin's echo answers after `delay`, at most 10 s). */
const SLOW_MS = 10_000
const run = crypto.randomUUID().slice(0, 8)
const stored = (name: string) => `/echo/warm-${run}-${name}?h-cache-control=max-age%3D300`
// Slower than the deadline.
const slow = `/echo/warm-${run}-slow?h-cache-control=max-age%3D300&delay=${SLOW_MS}`
const noStore = `/echo/warm-${run}-no-store?h-cache-control=no-store`
const warmed = [stored('a'), stored('b'), stored('c')]

let worker: WranglerDev | undefined

beforeAll(async () => {
  const { vars } = unstable_readConfig({ config: path.join(REPO_ROOT, 'wrangler.toml') })
  const port = await freePort()
  const config = structuredClone(vars.CACHE_CONFIG) as Record<string, unknown>
  // The slow URL first: it holds one of the two slots until the deadline, the rest go through the other.
  config.warming = {
    urls: [slow, ...warmed, noStore],
    baseUrl: `http://127.0.0.1:${port}`,
    concurrency: 2,
    deadlineMs: DEADLINE_MS,
  }
  worker = await startWranglerDev({
    name: 'worker-warming',
    configPath: 'wrangler.toml',
    port,
    quiet: true,
    readyPath: '/_cache/health',
    args: ['--test-scheduled'],
    vars: {
      ORIGIN_URL: inject('originUrl'),
      ADMIN_TOKEN: inject('adminToken'),
      CACHE_CONFIG: JSON.stringify(config),
    },
  })
}, 120_000)

afterAll(async () => {
  await worker?.stop()
})

async function originFetches(): Promise<Record<string, number>> {
  const response = await fetch(`${inject('originUrl')}/__origin/stats`)
  return ((await response.json()) as { byPath: Record<string, number> }).byPath
}

async function cacheStatusOf(url: string): Promise<string> {
  const response = await fetch(`${worker!.url}${url}`)
  await response.arrayBuffer()
  expect(response.status).toBe(200)
  return response.headers.get('cache-status') ?? ''
}

describe('scheduled warming (wrangler dev --test-scheduled)', () => {
  it('warms the configured URLs within the deadline; clients then hit', async () => {
    const started = Date.now()
    const response = await fetch(`${worker!.url}/__scheduled?cron=${encodeURIComponent(CRON)}`)
    expect(response.status).toBe(200)
    await response.arrayBuffer()
    // Cut at the deadline, not held by the 10 s URL: a run that waited for it would take longer than
    // its answer does (4 s of slack past the deadline for a loaded machine).
    expect(Date.now() - started).toBeLessThan(SLOW_MS)

    const fetched = await originFetches()
    for (const url of [...warmed, noStore])
      expect(fetched[new URL(url, 'http://x').pathname]).toBe(1)
    for (const url of warmed) expect(await cacheStatusOf(url)).toMatch(/; hit; /)
    // Not storable for a client's miss, not stored by warming either.
    expect(await cacheStatusOf(noStore)).toContain('fwd=miss')

    const metrics = await fetch(`${worker!.url}/_cache/metrics`, {
      headers: { authorization: `Bearer ${inject('adminToken')}` },
    })
    expect(metrics.status).toBe(200)
    const { values } = parseExposition(await metrics.text())
    expect(values.get('edge_cache_warm_total{outcome="stored"}')).toBe(3)
    expect(values.get('edge_cache_warm_total{outcome="not_stored"}')).toBe(1)
    expect(values.get('edge_cache_warm_total{outcome="timeout"}')).toBe(1)
    expect(values.get('edge_cache_warm_runs_total{result="deadline"}')).toBe(1)
  })
})
