import { afterEach, describe, expect, it, vi } from 'vitest'
import { statsResponseSchema } from '../../src/admin/response-schemas'
import type { DashboardView } from '../../src/metrics/dashboard-view'
import { parseExposition, delta } from '../helpers/prometheus'
import {
  ADMIN_TOKEN,
  cacheStatus,
  envWithConfig,
  json,
  originControl,
  send,
} from '../helpers/worker'

const EVICTIONS = 'edge_cache_memory_evictions_total'
const L2_EVICTED = 'edge_cache_l2_evicted_keys_total'

const bearer = { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }

async function scrape(bindings: object): Promise<{ text: string; values: Map<string, number> }> {
  const response = await send('/_cache/metrics', bearer, undefined, bindings)
  expect(response.status).toBe(200)
  const text = await response.text()
  return { text, values: parseExposition(text).values }
}

async function stats(bindings: object): Promise<DashboardView> {
  const response = await send('/_cache/stats', bearer, undefined, bindings)
  expect(response.status).toBe(200)
  return statsResponseSchema.parse(await json(response)) as DashboardView
}

afterEach(() => {
  vi.useRealTimers()
})

describe('memory tier evictions, through the Worker', () => {
  // Room for two copies per isolate; the purge view's bound is long, so reads do not wait on it.
  const small = envWithConfig((config) => {
    config.memory = { maxEntries: 2, maxAgeMs: 60_000 }
    config.purge = { boundMs: 60_000 }
  })
  const get = (path: string) => send(path, {}, undefined, small)

  it('counts copies pushed out by capacity, not purges; exposition and dashboard show them', async () => {
    const before = await scrape(small)
    for (const id of [21, 22]) expect(cacheStatus(await get(`/products/${id}`))).toContain('stored')
    // A purge removes /products/22 from memory: room made, nothing evicted.
    const purge = await send(
      '/_cache/purge',
      {
        method: 'POST',
        headers: { ...bearer.headers, 'content-type': 'application/json' },
        body: JSON.stringify({ urls: ['/products/22'] }),
      },
      undefined,
      small
    )
    expect(purge.status).toBe(200)
    expect(cacheStatus(await get('/products/23'))).toContain('stored')
    expect(delta(before.values, (await scrape(small)).values)[EVICTIONS] ?? 0).toBe(0)
    // Two more copies: /products/21, then /products/23, pushed out of memory.
    for (const id of [24, 25]) expect(cacheStatus(await get(`/products/${id}`))).toContain('stored')
    const after = await scrape(small)
    expect(delta(before.values, after.values)[EVICTIONS]).toBe(2)
    expect(after.text).toContain(`# TYPE ${EVICTIONS} counter`)
    const view = await stats(small)
    expect(view.totals.evictions.memory).toBe(after.values.get(EVICTIONS))
    // An L1 hit is copied into memory: that pushes out /products/24.
    expect(cacheStatus(await get('/products/21'))).toMatch(/hit; ttl=\d+; detail=L1$/)
    expect(delta(before.values, (await scrape(small)).values)[EVICTIONS]).toBe(3)
    // Without L2 nothing reads INFO: the family is there, empty, and the dashboard says unknown.
    expect(after.text).toContain(`# TYPE ${L2_EVICTED} counter`)
    expect([...after.values.keys()].some((key) => key.startsWith(L2_EVICTED))).toBe(false)
    expect(view.totals.evictions.l2).toBeNull()
    // The other figures of the dashboard's tiles are there too.
    expect(view.totals.hitRatio).not.toBeNull()
    expect(typeof view.totals.coalesced).toBe('number')
    expect(view.totals.p50Ms).not.toBeNull()
    expect(view.totals.p99Ms).not.toBeNull()
    expect(view.series.evictionsPerSec.length).toBe(view.series.t.length)
  })
})

/**
 * L2 regions whose endpoints are paths of the demo origin: not a Redis, so every call fails, which
 * is what these tests need (workerd runs no Redis; the real INFO is read in test/e2e). Each INFO
 * round logs one `l2_info_failed` line per region it called: that is how rounds are counted. The
 * breakers never open (the purge view's log reads fail here too), so no region is skipped.
 */
const REGIONS = ['us-east', 'eu-west', 'ap-south'] as const
const INTERVAL_MS = 30_000

function l2Env(intervalMs = INTERVAL_MS): object {
  const bindings = envWithConfig((config) => {
    config.l2 = {
      ...(config.l2 as object),
      writeTimeoutMs: 300,
      breaker: { failureThreshold: 1000 },
    }
    config.metrics = { l2InfoIntervalMs: intervalMs }
  })
  return {
    ...bindings,
    // The feed objects get the test bindings, which have no L2: the purge view reads the logs itself.
    PURGE_FEED: undefined,
    L2_REGIONS: REGIONS.map((name) => ({
      name,
      url: `http://origin.test/l2-info/${name}`,
      token: 'not-a-real-token',
    })),
  }
}

/** Captures the Worker's warnings (into `lines`); the function: INFO calls per region so far. */
function infoCalls(lines: string[] = []) {
  vi.spyOn(console, 'error').mockImplementation((line: unknown) => void lines.push(String(line)))
  return () => {
    const calls = Object.fromEntries(REGIONS.map((region) => [region, 0]))
    for (const line of lines) {
      if (!line.includes('"event":"l2_info_failed"')) continue
      const { region } = JSON.parse(line) as { region: string }
      calls[region]!++
    }
    return calls
  }
}

const each = (n: number) => Object.fromEntries(REGIONS.map((region) => [region, n]))

describe("L2 regions' INFO: rare, per isolate, failing soft", () => {
  it('a failing INFO leaves the metrics and the dashboard served, the region unknown', async () => {
    const bindings = l2Env()
    const calls = infoCalls()
    const { text, values } = await scrape(bindings)
    expect(calls()).toEqual(each(1))
    expect(text).toContain(`# TYPE ${L2_EVICTED} counter`)
    expect([...values.keys()].some((key) => key.startsWith(L2_EVICTED))).toBe(false)
    const view = await stats(bindings)
    expect(view.l2.configured).toBe(true)
    expect(view.l2.regions.map((region) => [region.region, region.evictedKeys])).toEqual(
      [...REGIONS].sort().map((region) => [region, null])
    )
    expect(view.totals.evictions.l2).toBeNull()
    const page = await send('/_cache/dashboard', {}, undefined, bindings)
    expect(page.status).toBe(200)
  })

  it('a hanging region is given up at the deadline: the scrape still answers', async () => {
    const bindings = l2Env()
    const lines: string[] = []
    const calls = infoCalls(lines)
    await originControl('fail', { mode: 'hang' })
    try {
      const { values } = await scrape(bindings)
      expect([...values.keys()].some((key) => key.startsWith(L2_EVICTED))).toBe(false)
      expect(calls()).toEqual(each(1))
      const failures = lines.filter((line) => line.includes('"event":"l2_info_failed"'))
      expect(failures.every((line) => line.includes('DeadlineExceeded'))).toBe(true)
    } finally {
      await originControl('fail', { mode: 'off' })
    }
  })

  it('no client can make scrapes cost an INFO each: one round per interval, only when authorised', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const bindings = l2Env()
    const calls = infoCalls()
    // Unauthorised scrapes never reach the handler.
    for (let i = 0; i < 3; i++) {
      const refused = await send('/_cache/metrics', {}, undefined, bindings)
      expect(refused.status).toBe(401)
    }
    expect(calls()).toEqual(each(0))
    // The first authorised scrape reads every region once...
    await scrape(bindings)
    expect(calls()).toEqual(each(1))
    // ...and any number within the interval, of either endpoint, read none.
    for (let i = 0; i < 10; i++) await scrape(bindings)
    for (let i = 0; i < 5; i++) await stats(bindings)
    expect(calls()).toEqual(each(1))
    // Once the interval has passed, one more round.
    vi.setSystemTime(Date.now() + INTERVAL_MS)
    await scrape(bindings)
    await scrape(bindings)
    expect(calls()).toEqual(each(2))
  })

  it('l2InfoIntervalMs 0: INFO is never read', async () => {
    const off = l2Env(0)
    const calls = infoCalls()
    await scrape(off)
    await stats(off)
    expect(calls()).toEqual(each(0))
  })
})
