import { evictDurableObject, runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Stats } from '../../durable-objects/stats'
import { STATS_INSTANCE } from '../../src/metrics/stats-client'
import type { DashboardView } from '../../src/metrics/dashboard-view'
import {
  ADMIN_TOKEN,
  admin,
  echo,
  envWithConfig,
  json,
  originControl,
  originStats,
  send,
  sleep,
} from '../helpers/worker'
import { delta, parseExposition } from '../helpers/prometheus'

const METRICS_TOKEN = 'test-metrics-token'

async function scrape(bindings?: object): Promise<Map<string, number>> {
  const response = await send(
    '/_cache/metrics',
    { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } },
    undefined,
    bindings
  )
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
  return parseExposition(await response.text()).values
}

// Memory copies live 1.5 s (the two memory hits below come right after the miss, however busy the
// machine; a read after the 1.6 s pause goes to L1), every request is logged, a hanging origin
// is given up after 300 ms, and one rate-limit rule admits one request. The purge view's bound is
// long: a view older than it waits for the purge journal, counted apart (purge_view_stale_total),
// which the second-long pause below would otherwise add on a busy machine, or not.
const mixEnv = envWithConfig((config) => {
  config.memory = { maxAgeMs: 1500 }
  config.purge = { boundMs: 60_000 }
  config.logs = { sampleRate: 1 }
  config.origin = { timeoutMs: 300 }
  config.rateLimits = [
    { name: 'mix', pattern: '/echo/m-rl', limit: 1, windowSeconds: 60, identity: { ip: true } },
  ]
})
const get = (path: string, init?: RequestInit) => send(path, init, undefined, mixEnv)

afterEach(() => {
  vi.restoreAllMocks()
})

describe('metrics: exact totals through the real Worker, read by a Prometheus parser', () => {
  it('counts a known mix of hits, misses, stale, revalidations, errors, pass-through and 429s', async () => {
    const before = await scrape()
    const logs: string[] = []
    const capture = (line: unknown) => void logs.push(String(line))
    vi.spyOn(console, 'log').mockImplementation(capture)
    vi.spyOn(console, 'error').mockImplementation(capture)

    const status = async (path: string, init?: RequestInit) =>
      (await get(path, init)).headers.get('cache-status')
    // A miss that fills the cache, two memory hits, then more misses.
    expect(await status('/products/1')).toMatch(/fwd=miss; ttl=\d+; stored$/)
    expect(await status('/products/1')).toMatch(/hit; ttl=\d+; detail=memory$/)
    expect(await status('/products/1')).toMatch(/detail=memory$/)
    const swr = echo('m-swr', { 'cache-control': 'max-age=1, stale-while-revalidate=60' })
    const sie = echo('m-sie', { 'cache-control': 'max-age=1, stale-if-error=60' })
    const etag = echo('m-304', { 'cache-control': 'max-age=1', etag: '"v1"' })
    for (const path of [swr, sie, etag]) expect(await status(path)).toContain('fwd=miss')
    // An L1 hit once the memory copy is past maxAgeMs (and the max-age=1 copies are stale).
    await sleep(1600)
    expect(await status('/products/1')).toMatch(/hit; ttl=\d+; detail=L1$/)
    // Stale: served while revalidating, revalidated with a 304, served when the origin hangs.
    expect(await status(swr)).toContain('detail="L1 stale-while-revalidate"')
    expect(await status(etag)).toMatch(/fwd=stale; fwd-status=304; ttl=\d+; stored$/)
    await originControl('fail', { mode: 'hang' })
    expect(await status(sie)).toMatch(/fwd=stale; ttl=-\d+; detail=stale-if-error$/)
    expect(await status(echo('m-error', { 'cache-control': 'max-age=60' }))).toContain(
      'detail=origin-timeout'
    )
    await originControl('fail', { mode: 'off' })
    // Pass-through: a bypassed route, an unsafe method.
    expect(await status('/account')).toBe('edge-cache; fwd=bypass; detail=route')
    expect(await status(echo('m-post'), { method: 'POST' })).toBe('edge-cache; fwd=method')
    // The rate limit admits one, refuses the next.
    const ip = { headers: { 'cf-connecting-ip': '198.51.100.9' } }
    expect((await get('/echo/m-rl', ip)).status).toBe(200)
    expect((await get('/echo/m-rl', ip)).status).toBe(429)
    // One purge.
    const purge = await admin('/purge', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ urls: ['/products/1'] }),
    })
    expect(purge.status).toBe(200)

    const counted = delta(before, await scrape())
    expect(counted).toEqual({
      'edge_cache_requests_total{outcome="miss",tier="origin"}': 5,
      'edge_cache_requests_total{outcome="hit",tier="memory"}': 2,
      'edge_cache_requests_total{outcome="hit",tier="L1"}': 1,
      'edge_cache_requests_total{outcome="stale",tier="L1"}': 1,
      'edge_cache_requests_total{outcome="revalidated",tier="origin"}': 1,
      'edge_cache_requests_total{outcome="stale",tier="origin"}': 1,
      'edge_cache_requests_total{outcome="error",tier="origin"}': 1,
      'edge_cache_requests_total{outcome="pass",tier="origin"}': 2,
      'edge_cache_requests_total{outcome="rate_limited",tier="edge"}': 1,
      'edge_cache_origin_fetches_total{reason="miss"}': 6,
      'edge_cache_origin_fetches_total{reason="revalidate"}': 2,
      'edge_cache_origin_fetches_total{reason="pass"}': 2,
      'edge_cache_origin_fetches_total{reason="refresh"}': 1,
      'edge_cache_stale_served_total{reason="swr"}': 1,
      'edge_cache_stale_served_total{reason="sie"}': 1,
      edge_cache_rate_limited_total: 1,
      edge_cache_purges_total: 1,
      // The isolate's first read: its purge view has not read the journal yet, so the read waits.
      'edge_cache_purge_view_stale_total{action="waited"}': 1,
      'edge_cache_request_duration_seconds_count{tier="memory"}': 2,
      'edge_cache_request_duration_seconds_count{tier="L1"}': 2,
      'edge_cache_request_duration_seconds_count{tier="origin"}': 10,
      'edge_cache_request_duration_seconds_count{tier="edge"}': 1,
      // Every cacheable origin fetch asks the key's Coalescer (6 misses, 2 revalidations, 1 refresh);
      // the rule's limiter is asked once per request (the second is refused).
      'edge_cache_do_requests_total{class="Coalescer"}': 9,
      'edge_cache_do_requests_total{class="RateLimiter"}': 2,
      // Latency buckets and sums, the batch count, and the calls to the Stats object (flushes, reads)
      // and to the purge journal (the view's reads) vary with timing and flush points: present, not fixed.
      ...pick(
        counted,
        /_sum\{|_bucket\{|stats_batches_total|do_requests_total\{class="(Stats|PurgeJournal)"/
      ),
    })
    expect(counted['edge_cache_do_requests_total{class="Stats"}']).toBeGreaterThan(0)
    expect(counted['edge_cache_do_requests_total{class="PurgeJournal"}']).toBeGreaterThan(0)
    expect(counted['edge_cache_request_duration_seconds_sum{tier="origin"}']).toBeGreaterThan(0.3)
    expect(counted['edge_cache_stats_batches_total']).toBeGreaterThan(0)
    // The origin saw exactly the fetches counted: 10 answered requests and the background refresh.
    expect((await originStats()).fetches).toBe(6 + 2 + 2 + 1)

    // One JSON line per request (sampleRate 1), with tier, outcome and latency.
    const lines = logs
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line))
      .filter((line) => line.event === 'request')
    expect(lines).toHaveLength(15)
    expect(lines.find((line) => line.outcome === 'stale' && line.tier === 'L1')).toMatchObject({
      level: 'info',
      method: 'GET',
      path: '/echo/m-swr',
      status: 200,
      cacheStatus: expect.stringMatching(
        /^edge-cache; hit; ttl=-\d+; detail="L1 stale-while-revalidate"$/
      ),
    })
    expect(lines.find((line) => line.outcome === 'error')).toMatchObject({
      level: 'warn',
      status: 504,
      tier: 'origin',
    })
    for (const line of lines) expect(typeof line.ms).toBe('number')
  })

  it('logs a sampled share of requests (errors always) and nothing when sampling is off', async () => {
    const quiet = envWithConfig((config) => {
      config.logs = { sampleRate: 0 }
    })
    const logs: string[] = []
    vi.spyOn(console, 'log').mockImplementation((line: unknown) => void logs.push(String(line)))
    await send('/products/2', {}, undefined, quiet)
    await send('/products/2', {}, undefined, quiet)
    expect(logs.filter((line) => line.includes('"event":"request"'))).toEqual([])
  })

  it('exports the catalogue with HELP and TYPE, and zeroes for label-less counters', async () => {
    const response = await admin('/metrics')
    const text = await response.text()
    const { families } = parseExposition(text)
    const byName = new Map(families.map((family) => [family.name, family]))
    expect(byName.get('edge_cache_requests_total')?.type).toBe('COUNTER')
    expect(byName.get('edge_cache_request_duration_seconds')?.type).toBe('HISTOGRAM')
    expect(byName.get('edge_cache_breaker_state')?.type).toBe('GAUGE')
    for (const name of [
      'edge_cache_coalesced_followers_total',
      'edge_cache_early_refreshes_total',
      'edge_cache_negative_hits_total',
      'edge_cache_l2_failovers_total',
      'edge_cache_l2_degraded_total',
      'edge_cache_breaker_transitions_total',
    ])
      expect(byName.has(name), name).toBe(true)
    expect(text).toContain('# TYPE edge_cache_coalesced_followers_total counter')
    expect(text).not.toMatch(/products|echo/)
  })
})

describe('metrics: aggregation in the Stats Durable Object', () => {
  const stub = () => env.STATS!.get(env.STATS!.idFromName(STATS_INSTANCE))
  const batch = (isolate: string, seq: number, value: number) => ({
    isolate,
    seq,
    data: { counters: { purges_total: { '': value } }, histograms: {} },
    breakers: { 'eu-west': { state: 'open' as const, at: 1000 + seq } },
  })

  it('sums batches from several isolates and ignores a retried one', async () => {
    await runInDurableObject(stub(), async (stats: Stats) => {
      const start = (await stats.read()).totals.counters.purges_total?.[''] ?? 0
      expect(await stats.record(batch('isolate-a', 1, 2))).toEqual({ applied: true })
      expect(await stats.record(batch('isolate-b', 1, 3))).toEqual({ applied: true })
      // The same batch again (its acknowledgement was lost): not counted twice.
      expect(await stats.record(batch('isolate-a', 1, 2))).toEqual({ applied: false })
      const read = await stats.read({ timeline: true })
      expect(read.totals.counters.purges_total?.['']).toBe(start + 5)
      expect(read.breakers['eu-west']?.state).toBe('open')
      const buckets = read.timeline ?? []
      expect(buckets.length).toBeGreaterThan(0)
      expect(buckets.every((bucket) => bucket.t % read.bucketMs === 0)).toBe(true)
    })
  })

  it('keeps totals and the timeline across an eviction', async () => {
    await runInDurableObject(stub(), (stats: Stats) => stats.record(batch('isolate-c', 1, 7)))
    const before = await stub().read({ timeline: true })
    await evictDurableObject(stub())
    const after = await stub().read({ timeline: true })
    expect(after.totals).toEqual(before.totals)
    expect(after.timeline).toEqual(before.timeline)
  })

  it('a failing or hanging Stats object never fails a request; the endpoint says 503', async () => {
    const broken = (mode: 'throw' | 'hang') => ({
      idFromName: (name: string) => env.STATS!.idFromName(name),
      get: () => ({
        record: () =>
          mode === 'throw' ? Promise.reject(new Error('stats down')) : new Promise(() => {}),
        read: () =>
          mode === 'throw' ? Promise.reject(new Error('stats down')) : new Promise(() => {}),
      }),
    })
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    for (const mode of ['throw', 'hang'] as const) {
      const bindings = {
        ...envWithConfig((config) => {
          config.metrics = { flushIntervalMs: 0, timeoutMs: 100 }
        }),
        STATS: broken(mode),
      }
      const started = Date.now()
      const response = await send('/products/3', {}, undefined, bindings)
      expect(response.status).toBe(200)
      // Bounded by the 100 ms flush deadline, not the hang; generous for a busy machine.
      expect(Date.now() - started).toBeLessThan(5000)
      const metrics = await send(
        '/_cache/metrics',
        { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } },
        undefined,
        bindings
      )
      expect(metrics.status).toBe(503)
      expect(await json(metrics)).toMatchObject({ error: { code: 'stats_unavailable' } })
    }
    expect(errors.mock.calls.some(([line]) => String(line).includes('stats_flush_failed'))).toBe(
      true
    )
    // Nothing was lost: the retained deltas reach the real object with the next flush.
    const before = await scrape()
    expect(before.get('edge_cache_stats_flush_failures_total')).toBeGreaterThan(0)
  })
})

describe('metrics and dashboard endpoints: access', () => {
  const withMetricsToken = { ...env, METRICS_TOKEN }
  const call = (path: string, token?: string) =>
    send(
      path,
      { headers: token ? { authorization: `Bearer ${token}` } : {} },
      undefined,
      withMetricsToken
    )

  it('needs the admin or the metrics token; the metrics token cannot purge', async () => {
    expect((await call('/_cache/metrics')).status).toBe(401)
    expect((await call('/_cache/metrics', 'wrong')).status).toBe(401)
    expect((await call('/_cache/metrics', ADMIN_TOKEN)).status).toBe(200)
    expect((await call('/_cache/metrics', METRICS_TOKEN)).status).toBe(200)
    expect((await call('/_cache/stats', METRICS_TOKEN)).status).toBe(200)
    expect((await call('/_cache/stats')).status).toBe(401)
    expect((await call('/_cache/health', METRICS_TOKEN)).status).toBe(401)
  })

  it('serves the dashboard page and its bundled assets without a token, with a strict CSP', async () => {
    const page = await call('/_cache/dashboard')
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'")
    const html = await page.text()
    expect(html).toContain('/_cache/dashboard/uplot.min.js')
    expect(html).not.toMatch(/https?:\/\//)
    const uplot = await call('/_cache/dashboard/uplot.min.js')
    expect(uplot.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(await uplot.text()).toContain('uPlot')
    expect((await call('/_cache/dashboard/app.js')).status).toBe(200)
    expect((await call('/_cache/dashboard/uplot.min.css')).status).toBe(200)
    expect((await call('/_cache/dashboard/constructor')).status).toBe(404)
  })

  it('GET /_cache/stats: totals that match the metrics endpoint, and no L2 without L2_REGIONS', async () => {
    await send('/products/4')
    await send('/products/4')
    const view = await json<DashboardView>(await call('/_cache/stats', ADMIN_TOKEN))
    const metrics = await scrape()
    const requests = [...metrics]
      .filter(([key]) => key.startsWith('edge_cache_requests_total{'))
      .reduce((sum, [, value]) => sum + value, 0)
    expect(view.totals.requests).toBe(requests)
    expect(view.totals.requests).toBeGreaterThanOrEqual(2)
    expect(view.l2).toEqual({ configured: false, regions: [] })
    expect(view.bucketSeconds).toBe(2)
  })
})

function pick(record: Record<string, number>, pattern: RegExp): Record<string, number> {
  return Object.fromEntries(Object.entries(record).filter(([key]) => pattern.test(key)))
}
