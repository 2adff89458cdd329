/**
 * The stampede scenarios, against any running Worker + demo origin (the simulator's local stack, the
 * bench's targets): each returns one row of origin fetches, client-visible misses, errors and latency.
 */
import { unstable_readConfig } from 'wrangler'
import { get, originControl, originFetches, percentile, type Sample } from './client'
import { penetration, penetrationRoutes, penetrationRules } from './penetration'
import { zipf, zipfRoutes } from './zipf'

/** Where the scenario sends its requests: the Worker and the demo origin behind it. */
export interface Target {
  readonly workerUrl: string
  readonly originUrl: string
}

export type Mode = 'on' | 'off'
export type Scenario =
  'stampede' | 'expiry' | 'origin-down' | 'batch-expiry' | 'zipf' | 'penetration'
export const SCENARIOS: readonly Scenario[] = [
  'stampede',
  'expiry',
  'origin-down',
  'batch-expiry',
  'zipf',
  'penetration',
]

export interface Row {
  scenario: Scenario
  mode: Mode
  requests: number
  originFetches: number
  misses: number
  errors: number
  p50: number
  p99: number
  max: number
  note: string
}

/** wrangler.toml's CACHE_CONFIG with /sim/** cached for 1 s by route, protection on or off. */
export function cacheConfig(mode: Mode): string {
  const config = structuredClone(
    unstable_readConfig({ config: 'wrangler.toml' }).vars.CACHE_CONFIG
  ) as Record<string, unknown>
  const on = mode === 'on'
  const route = {
    pattern: '/echo/sim/**',
    ttl: 1,
    staleWhileRevalidate: on ? 30 : 0,
    staleIfError: on ? 300 : 0,
  }
  // Keys filled together, with freshness jitter and without (batch-expiry compares them).
  const batch = (name: string, freshnessJitter: number) => ({
    ...route,
    pattern: `/echo/sim/${name}/**`,
    ttl: 2,
    freshnessJitter,
  })
  config.routes = [
    batch('batch-jitter', 0.5),
    batch('batch-plain', 0),
    ...zipfRoutes(route),
    ...penetrationRoutes(mode),
    route,
    ...(config.routes as unknown[]),
  ]
  config.rateLimits = [...(config.rateLimits as unknown[]), ...penetrationRules(mode)]
  config.coalescer = { enabled: on }
  config.xfetch = { enabled: on }
  config.negativeCache = { ttlSeconds: on ? 10 : 0 }
  config.origin = { breaker: { enabled: on } }
  return JSON.stringify(config)
}

function summarise(
  scenario: Scenario,
  mode: Mode,
  samples: Sample[],
  fetches: number,
  note: string
): Row {
  const sorted = samples.map((s) => s.ms).sort((a, b) => a - b)
  return {
    scenario,
    mode,
    requests: samples.length,
    originFetches: fetches,
    misses: samples.filter((s) => !/; hit;/.test(s.cacheStatus)).length,
    errors: samples.filter((s) => s.status === 0 || s.status >= 500).length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? 0,
    note,
  }
}

/** N concurrent requests for one cold key. */
export async function stampede(stack: Target, mode: Mode): Promise<Row> {
  const n = 1000
  await originControl(stack, 'latency', { ms: 200 })
  // Fresh for 60 s (the origin says so): only the cold miss can reach the origin.
  const prefix = `/echo/stampede-${mode}`
  const url = `${stack.workerUrl}${prefix}?h-cache-control=max-age%3D60`
  const samples = await Promise.all(Array.from({ length: n }, () => get(url)))
  const collapsed = samples.filter((s) => s.cacheStatus.includes('collapsed')).length
  if (process.env.SIM_VERBOSE) {
    const tally: Record<string, number> = {}
    for (const s of samples) {
      const key = s.cacheStatus.replace(/ttl=-?\d+/, 'ttl=N')
      tally[key] = (tally[key] ?? 0) + 1
    }
    console.log(tally)
  }
  return summarise(
    'stampede',
    mode,
    samples,
    await originFetches(stack, prefix),
    `${n} concurrent, origin 200 ms, ${collapsed} collapsed`
  )
}

/** A hot key under steady load across many 1 s expiries. */
export async function expiry(stack: Target, mode: Mode): Promise<Row> {
  await originControl(stack, 'latency', { ms: 100 })
  const prefix = `/echo/sim/hot-${mode}`
  const url = `${stack.workerUrl}${prefix}`
  await get(url)
  const samples: Sample[] = []
  const seconds = 10
  const until = Date.now() + seconds * 1000
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      while (Date.now() < until) samples.push(await get(url))
    })
  )
  return summarise(
    'expiry',
    mode,
    samples,
    await originFetches(stack, prefix),
    `20 clients for ${seconds} s, TTL 1 s, origin 100 ms`
  )
}

/** 20 keys under load; the origin starts failing 2 s in, for 6 s. */
export async function originDown(stack: Target, mode: Mode): Promise<Row> {
  await originControl(stack, 'latency', { ms: 50 })
  const prefix = `/echo/sim/down-${mode}-`
  const urls = Array.from({ length: 20 }, (_, i) => `${stack.workerUrl}${prefix}${i}`)
  await Promise.all(urls.map((url) => get(url)))
  const before = await originFetches(stack, prefix)
  const samples: Sample[] = []
  const started = Date.now()
  const until = started + 8000
  let down: number | undefined
  const killer = setTimeout(() => {
    void originControl(stack, 'fail', { mode: 'error' }).then(async () => {
      down = await originFetches(stack, prefix)
    })
  }, 2000)
  await Promise.all(
    Array.from({ length: 20 }, async (_, client) => {
      let i = client
      while (Date.now() < until) samples.push(await get(urls[i++ % urls.length]!))
    })
  )
  clearTimeout(killer)
  const after = await originFetches(stack, prefix)
  await originControl(stack, 'fail', { mode: 'off' })
  const whileDown = down === undefined ? 0 : after - down
  return summarise(
    'origin-down',
    mode,
    samples,
    after - before,
    `20 keys, origin failing after 2 s; origin calls while down: ${whileDown}`
  )
}

/**
 * 20 keys filled together (one warm-up), TTL 2 s, read round-robin by 20 clients for 8 s, with
 * `freshnessJitter = 0.5` and without: the origin's fetches per 100 ms show the spike each common
 * expiry makes, and how jitter spreads it. The row is the jittered set; the note compares.
 */
export async function batchExpiry(stack: Target, mode: Mode): Promise<Row> {
  await originControl(stack, 'latency', { ms: 50 })
  const keys = 20
  const sets = ['batch-jitter', 'batch-plain'] as const
  const urls = (set: string) =>
    Array.from({ length: keys }, (_, i) => `${stack.workerUrl}/echo/sim/${set}/${mode}-${i}`)
  const prefix = (set: string) => `/echo/sim/${set}/${mode}-`
  for (const set of sets) await Promise.all(urls(set).map((url) => get(url)))
  const last = { 'batch-jitter': 0, 'batch-plain': 0 }
  const peaks = { 'batch-jitter': 0, 'batch-plain': 0 }
  for (const set of sets) last[set] = await originFetches(stack, prefix(set))
  const first = { ...last }
  const samples: Sample[] = []
  const plainSamples: Sample[] = []
  const until = Date.now() + 8000
  let sampling = true
  const sampler = (async () => {
    while (sampling) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      for (const set of sets) {
        const now = await originFetches(stack, prefix(set))
        peaks[set] = Math.max(peaks[set], now - last[set])
        last[set] = now
      }
    }
  })()
  // Interleaved, so both sets are read at the same rate.
  const plain = urls('batch-plain')
  const all = urls('batch-jitter').flatMap((url, i) => [url, plain[i]!])
  await Promise.all(
    Array.from({ length: 20 }, async (_, client) => {
      let i = client
      while (Date.now() < until) {
        const url = all[i++ % all.length]!
        const sample = await get(url)
        if (url.includes('batch-jitter')) samples.push(sample)
        else plainSamples.push(sample)
      }
    })
  )
  sampling = false
  await sampler
  const total = (set: (typeof sets)[number]) => last[set] - first[set]
  return summarise(
    'batch-expiry',
    mode,
    samples,
    total('batch-jitter'),
    `${keys} keys filled together, TTL 2 s, 8 s: most origin fetches in 100 ms ` +
      `${peaks['batch-jitter']} with freshnessJitter 0.5 vs ${peaks['batch-plain']} without ` +
      `(fetches ${total('batch-jitter')} vs ${total('batch-plain')}; requests ${samples.length} vs ` +
      `${plainSamples.length}, not hits ${samples.filter((s) => !/; hit;/.test(s.cacheStatus)).length} vs ` +
      `${plainSamples.filter((s) => !/; hit;/.test(s.cacheStatus)).length})`
  )
}

export const RUN: Record<Scenario, (stack: Target, mode: Mode) => Promise<Row>> = {
  stampede,
  expiry,
  'origin-down': originDown,
  'batch-expiry': batchExpiry,
  zipf,
  penetration,
}
