/**
 * Purges without L2, on a second `wrangler dev` of the same Worker with no L2_REGIONS: the
 * PurgeJournal Durable Object holds the log, so a tag purge made at one simulated colo reaches a
 * second colo's memory and L1 within the bound (each simulated colo has its own tiers and view).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { startWranglerDev, type WranglerDev } from '../../tools/lib/wrangler-dev'
import { until } from './simulated-client'

let worker: WranglerDev | undefined

beforeAll(async () => {
  worker = await startWranglerDev({
    name: 'worker-no-l2',
    configPath: 'wrangler.toml',
    quiet: true,
    readyPath: '/_cache/health',
    vars: {
      ORIGIN_URL: inject('originUrl'),
      ADMIN_TOKEN: inject('adminToken'),
      SIMULATION: '1',
    },
  })
}, 120_000)

afterAll(async () => {
  await worker?.stop()
})

async function getAt(path: string, colo: string): Promise<string> {
  const response = await fetch(`${worker!.url}${path}`, { headers: { 'x-sim-colo': colo } })
  await response.arrayBuffer()
  expect(response.status).toBe(200)
  return response.headers.get('cache-status') ?? ''
}

describe('purges without L2 (the purge journal)', () => {
  it('a tag purge at one colo reaches a second colo within the bound', async () => {
    const tag = `journal-${crypto.randomUUID().slice(0, 8)}`
    const path = `/echo/${tag}?h-cache-control=max-age%3D300&h-surrogate-key=${tag}`
    for (const colo of ['CDG', 'NRT']) {
      await getAt(path, colo)
      expect(await getAt(path, colo)).toContain('hit')
    }
    const response = await fetch(`${worker!.url}/_cache/purge`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${inject('adminToken')}`,
        'content-type': 'application/json',
        'x-sim-colo': 'CDG',
      },
      body: JSON.stringify({ tags: [tag] }),
    })
    expect(response.status).toBe(200)
    const report = (await response.json()) as {
      scope: string
      boundMs: number
      regions: { recorded: string[] }
    }
    expect(report.regions.recorded).toEqual(['purge-journal'])
    expect(report.scope).toContain('purge journal')
    expect(await getAt(path, 'CDG')).toContain('fwd=miss')
    // The other colo learns it from the journal (polled every pollIntervalMs, off the hot path).
    const started = Date.now()
    await until('the purge at NRT', async () =>
      (await getAt(path, 'NRT')).includes('fwd=miss') ? true : undefined
    )
    // Within the bound, plus the time a loaded machine takes to answer the requests in between.
    expect(Date.now() - started).toBeLessThan(report.boundMs + 10_000)
  })
})
