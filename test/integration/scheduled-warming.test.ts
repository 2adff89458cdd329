import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig } from '../../src/config/load-config'
import worker from '../../src/index'
import { STATS_INSTANCE } from '../../src/metrics/stats-client'
import {
  cacheStatus,
  echo,
  envWithConfig,
  originControl,
  originStats,
  send,
  sleep,
} from '../helpers/worker'

const CRON = '*/5 * * * *'
const BASE_URL = 'https://cache.test'

/** The test bindings with `warming` (and any other section) set: a fresh isolate of its own. */
function warmingEnv(warming: Record<string, unknown>, more: Record<string, unknown> = {}) {
  return envWithConfig((config) => {
    config.warming = { baseUrl: BASE_URL, ...warming }
    Object.assign(config, more)
  }) as Cloudflare.Env
}

/** One Cron Trigger run; `settle: false` returns before its background work (a hung fill's). */
async function runScheduled(bindings: object, cron = CRON): Promise<number> {
  const ctx = createExecutionContext()
  const started = Date.now()
  await worker.scheduled(createScheduledController({ cron }), bindings as Cloudflare.Env, ctx)
  const ms = Date.now() - started
  await waitOnExecutionContext(ctx)
  return ms
}

/** Warming counters as the Stats object holds them: what the run flushed, with no request. */
async function warmTotals(): Promise<Record<string, number>> {
  const stats = env.STATS!.get(env.STATS!.idFromName(STATS_INSTANCE))
  const { totals } = await stats.read()
  const out: Record<string, number> = {}
  for (const [outcome, n] of Object.entries(totals.counters.warm_total ?? {})) out[outcome] = n
  for (const [result, n] of Object.entries(totals.counters.warm_runs_total ?? {})) {
    out[`run:${result}`] = n
  }
  return out
}

function delta(after: Record<string, number>, before: Record<string, number>) {
  const out: Record<string, number> = {}
  for (const [key, n] of Object.entries(after)) {
    if (n !== (before[key] ?? 0)) out[key] = n - (before[key] ?? 0)
  }
  return out
}

/** Fills a run gave up on still run in the test isolate: wait until the origin answered them. */
async function abandonedFills(ms: number): Promise<void> {
  await sleep(ms)
}

const stored = (name: string) => echo(name, { 'cache-control': 'max-age=300' })

describe('scheduled warming', () => {
  it('fills the configured URLs through the miss path: hits afterwards, counts in Stats', async () => {
    const noStore = echo('w-no-store', { 'cache-control': 'no-store' })
    const privateCopy = echo('w-private', { 'cache-control': 'private, max-age=300' })
    const bindings = warmingEnv({
      urls: ['/products/1', '/products/2', stored('w-a'), noStore, privateCopy, '/account/me'],
    })
    const before = await warmTotals()
    await runScheduled(bindings)
    expect(delta(await warmTotals(), before)).toEqual({
      stored: 3,
      not_stored: 2,
      skipped: 1,
      'run:completed': 1,
    })
    const fetched = await originStats()
    expect(fetched.byPath).toEqual({
      '/products/1': 1,
      '/products/2': 1,
      '/echo/w-a': 1,
      '/echo/w-no-store': 1,
      '/echo/w-private': 1,
    })

    for (const path of ['/products/1', '/products/2', stored('w-a')]) {
      expect(cacheStatus(await send(path, {}, BASE_URL, bindings))).toMatch(/; hit; /)
    }
    // The same storability rules as a client's miss: what a miss would not keep was not kept.
    for (const path of [noStore, privateCopy]) {
      expect(cacheStatus(await send(path, {}, BASE_URL, bindings))).toContain('fwd=miss')
    }
    expect((await originStats()).fetches).toBe(fetched.fetches + 2)

    // A second run finds the copies fresh: nothing reaches the origin for them.
    const again = await warmTotals()
    await runScheduled(bindings)
    expect(delta(await warmTotals(), again)).toMatchObject({ hit: 3, 'run:completed': 1 })
    expect((await originStats()).byPath['/products/1']).toBe(1)
  })

  it('gives up a hanging URL at the deadline; the others are stored', async () => {
    // A 2 s deadline: the two quick URLs share one slot, and a busy machine must fit both in it.
    const slow = echo('w-slow', { 'cache-control': 'max-age=300' }, 'delay=3000')
    const bindings = warmingEnv(
      { urls: [slow, '/products/1', '/products/2'], concurrency: 2, deadlineMs: 2000 },
      { origin: { timeoutMs: 30_000 } }
    )
    const before = await warmTotals()
    const ms = await runScheduled(bindings)
    expect(ms).toBeGreaterThanOrEqual(1900)
    expect(ms).toBeLessThan(5000)
    expect(delta(await warmTotals(), before)).toEqual({
      stored: 2,
      timeout: 1,
      'run:deadline': 1,
    })
    expect(cacheStatus(await send('/products/2', {}, BASE_URL, bindings))).toMatch(/; hit; /)
    // Here the given-up fill lives on (on Cloudflare the run's end cancels it): let it finish before
    // reset() aborts its Coalescer object, or the Worker would fetch again during the next test.
    await abandonedFills(3000)
  })

  it('keeps at most `concurrency` fills in flight, and starts none past the deadline', async () => {
    await originControl('fail', { mode: 'hang' })
    const urls = Array.from({ length: 8 }, (_, i) => stored(`w-c${i}`))
    const bindings = warmingEnv(
      { urls, concurrency: 3, deadlineMs: 1500 },
      { origin: { timeoutMs: 30_000 } }
    )
    const before = await warmTotals()
    const ctx = createExecutionContext()
    const started = Date.now()
    await worker.scheduled(createScheduledController({ cron: CRON }), bindings, ctx)
    expect(Date.now() - started).toBeLessThan(6000)
    const stats = await originStats()
    expect(stats).toMatchObject({ fetches: 3, hanging: 3 })
    await originControl('fail', { mode: 'off' })
    await waitOnExecutionContext(ctx)
    expect(delta(await warmTotals(), before)).toEqual({ timeout: 8, 'run:deadline': 1 })
    await abandonedFills(1000)
  })

  it('runs `concurrency` at a time: with a slow origin the run takes its rounds', async () => {
    await originControl('latency', { ms: 300 })
    const urls = Array.from({ length: 6 }, (_, i) => stored(`w-r${i}`))
    const bindings = warmingEnv({ urls, concurrency: 2 })
    const ms = await runScheduled(bindings)
    // 6 URLs, 2 at a time: 3 rounds of at least 300 ms each (one would take ~300 ms).
    expect(ms).toBeGreaterThanOrEqual(900)
    expect((await originStats()).fetches).toBe(6)
  })

  it('does not throw when the origin fails: counted as errors, nothing stored', async () => {
    await originControl('fail', { mode: 'error', status: 503 })
    const bindings = warmingEnv({ urls: [stored('w-e1'), stored('w-e2'), '/products/3'] })
    const before = await warmTotals()
    await expect(runScheduled(bindings)).resolves.toBeTypeOf('number')
    expect(delta(await warmTotals(), before)).toEqual({ error: 3, 'run:completed': 1 })
    await originControl('fail', { mode: 'off' })
    expect(cacheStatus(await send('/products/3', {}, BASE_URL, bindings))).toContain('fwd=miss')
  })

  it('leaves clients behind the rate limiter: a warmed copy is still counted against them', async () => {
    const bindings = warmingEnv(
      { urls: ['/products/4'] },
      {
        rateLimits: [
          {
            name: 'warm',
            pattern: '/products/**',
            limit: 1,
            windowSeconds: 60,
            identity: { ip: true },
          },
        ],
      }
    )
    await runScheduled(bindings)
    const client = { headers: { 'cf-connecting-ip': '203.0.113.7' } }
    const first = await send('/products/4', client, BASE_URL, bindings)
    expect(first.status).toBe(200)
    expect(cacheStatus(first)).toMatch(/; hit; /)
    expect((await send('/products/4', client, BASE_URL, bindings)).status).toBe(429)
  })

  it('warms only on its own cron when `cron` is set', async () => {
    const bindings = warmingEnv({ urls: ['/products/5'], cron: '0 * * * *' })
    await runScheduled(bindings, CRON)
    expect((await originStats()).fetches).toBe(0)
    await runScheduled(bindings, '0 * * * *')
    expect((await originStats()).byPath).toEqual({ '/products/5': 1 })
  })

  it('does nothing without warming URLs (the default)', async () => {
    const before = await warmTotals()
    await runScheduled({ ...env })
    expect((await originStats()).fetches).toBe(0)
    expect(delta(await warmTotals(), before)).toEqual({})
  })
})

describe('scheduled warming: config refused at parse, naming the field', () => {
  const parse = (warming: unknown) => () =>
    parseConfig({
      ...env,
      CACHE_CONFIG: { ...(env.CACHE_CONFIG as object), warming },
    })

  it.each([
    [
      'a relative path',
      { urls: ['products/1'], baseUrl: BASE_URL },
      'CACHE_CONFIG.warming.urls[0]: must be a path',
    ],
    [
      'an absolute URL',
      { urls: ['https://evil.example/x'], baseUrl: BASE_URL },
      'warming.urls[0]: must be a path',
    ],
    [
      'a "//host" reference',
      { urls: ['/ok', '//evil.example/x'], baseUrl: BASE_URL },
      'warming.urls[1]: must be a path',
    ],
    ['a space', { urls: ['/a b'], baseUrl: BASE_URL }, 'warming.urls[0]: must not contain spaces'],
    ['a fragment', { urls: ['/a#frag'], baseUrl: BASE_URL }, 'warming.urls[0]: must not contain'],
    ['a line break', { urls: ['/a\n/b'], baseUrl: BASE_URL }, 'warming.urls[0]: must not contain'],
    ['a path too long', { urls: ['/' + 'a'.repeat(9000)], baseUrl: BASE_URL }, 'warming.urls[0]:'],
    [
      'a repeated URL',
      { urls: ['/a', '/a'], baseUrl: BASE_URL },
      'warming.urls: must not repeat a URL',
    ],
    [
      '501 URLs',
      { urls: Array.from({ length: 501 }, (_, i) => `/p/${i}`), baseUrl: BASE_URL },
      'warming.urls: at most 500 URLs per run',
    ],
    [
      'urls without baseUrl',
      { urls: ['/a'] },
      'CACHE_CONFIG.warming.baseUrl: is required when `urls` is set',
    ],
    [
      'a non-http baseUrl',
      { urls: ['/a'], baseUrl: 'ftp://x.example' },
      'warming.baseUrl: must be an absolute http(s)',
    ],
    [
      'a baseUrl with a path',
      { urls: ['/a'], baseUrl: 'https://x.example/api' },
      'warming.baseUrl: must be an origin only',
    ],
    ['concurrency 0', { concurrency: 0 }, 'CACHE_CONFIG.warming.concurrency:'],
    ['a fractional concurrency', { concurrency: 1.5 }, 'CACHE_CONFIG.warming.concurrency:'],
    ['a deadline too short', { deadlineMs: 10 }, 'CACHE_CONFIG.warming.deadlineMs:'],
    ['a deadline too long', { deadlineMs: 3_600_000 }, 'CACHE_CONFIG.warming.deadlineMs:'],
    ['an unknown key', { url: ['/a'] }, 'CACHE_CONFIG.warming: Unrecognized key: "url"'],
    ['not an object', '/a', 'CACHE_CONFIG.warming:'],
  ])('refuses %s', (_label, warming, message) => {
    expect(parse(warming)).toThrow(ConfigError)
    expect(parse(warming)).toThrow(message)
  })

  it('accepts a list of paths with queries, and defaults to off', () => {
    const config = parse({ urls: ['/products/1', '/search?q=a&page=2'], baseUrl: BASE_URL })()
    expect(config.warming).toEqual({
      urls: ['/products/1', '/search?q=a&page=2'],
      baseUrl: BASE_URL,
      concurrency: 6,
      deadlineMs: 30_000,
      topKeys: 0,
    })
    expect(parseConfig({ ...env }).warming).toEqual({
      urls: [],
      concurrency: 6,
      deadlineMs: 30_000,
      topKeys: 0,
    })
  })

  it('refuses to run on a bad config (the Worker would not start either)', async () => {
    const bindings = envWithConfig((config) => {
      config.warming = { urls: ['nope'], baseUrl: BASE_URL }
    })
    await expect(runScheduled(bindings)).rejects.toThrow('CACHE_CONFIG.warming.urls[0]')
    expect((await originStats()).fetches).toBe(0)
  })
})
