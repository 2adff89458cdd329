/**
 * The `penetration` scenario: one client floods a product route with ids that do not exist (each a
 * distinct miss that no cache absorbs) while a legit client reads a few valid ids. The same flood
 * goes to four routes, one per origin protection: none, the membership guard (`routes[].membership`,
 * the demo origin's `/__ids/products` list), a miss-rate limit (`rateLimits[].counts = "origin"`),
 * and both. It reports the origin fetches the flood caused on each, and what the legit client got.
 */
import { get, originByPath, percentile, type Sample } from './client'
import type { Mode, Row, Target } from './scenarios'

const VARIANTS = ['none', 'membership', 'miss-limit', 'both'] as const
type Variant = (typeof VARIANTS)[number]

const FLOOD = 400
const FLOOD_CONCURRENCY = 20
const LEGIT_REQUESTS = 50
/** Valid ids (the demo catalogue's first products): the legit client reads these. */
const VALID_IDS = Array.from({ length: 10 }, (_, i) => String(i + 1))
const MISS_LIMIT = 20
const ATTACKER = '203.0.113.66'
const LEGIT = '198.51.100.7'
const WARM_UP = '192.0.2.200'

const prefix = (variant: Variant) => `/echo/pen/${variant}/`
const guarded = (variant: Variant) => variant === 'membership' || variant === 'both'
const limited = (variant: Variant) => variant === 'miss-limit' || variant === 'both'

/**
 * One route per variant, cached 60 s (the echo origin answers any id; the list says which exist).
 * With protection off, no route has a guard.
 */
export function penetrationRoutes(mode: Mode): Record<string, unknown>[] {
  return VARIANTS.map((variant) => ({
    pattern: `${prefix(variant)}*`,
    ttl: 60,
    ...(mode === 'on' && guarded(variant)
      ? { membership: { source: '/__ids/products', refreshSeconds: 60 } }
      : {}),
  }))
}

/** A miss-rate limit per client IP on the limited variants' routes; none with protection off. */
export function penetrationRules(mode: Mode): Record<string, unknown>[] {
  if (mode === 'off') return []
  return VARIANTS.filter(limited).map((variant) => ({
    name: `pen-${variant}`,
    pattern: `${prefix(variant)}*`,
    counts: 'origin',
    identity: { ip: true },
    limit: MISS_LIMIT,
    windowSeconds: 60,
  }))
}

/** Origin fetches under `prefix`, split into the valid ids' and the rest's. */
async function originFetches(
  stack: Target,
  under: string
): Promise<{ valid: number; other: number }> {
  const counts = { valid: 0, other: 0 }
  for (const [path, n] of Object.entries(await originByPath(stack))) {
    if (!path.startsWith(under)) continue
    if (VALID_IDS.includes(path.slice(under.length))) counts.valid += n
    else counts.other += n
  }
  return counts
}

/** Ids the catalogue lacks, each asked once: nothing a cache could absorb. */
function randomId(): string {
  return String(100_000 + Math.floor(Math.random() * 900_000_000))
}

/** A guarded route's list is loaded once an absent id gets the edge's 404 (at most ~10 s). */
async function warmGuard(stack: Target, variant: Variant): Promise<boolean> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const answer = await get(`${stack.workerUrl}${prefix(variant)}${randomId()}`, {
      'cf-connecting-ip': WARM_UP,
    })
    if (answer.cacheStatus.includes('membership-absent')) return true
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  return false
}

interface Outcome {
  readonly flood: Sample[]
  readonly legit: Sample[]
  readonly floodFetches: number
  readonly legitFetches: number
}

/** The flood against one variant's route, the legit client reading valid ids alongside. */
async function attack(stack: Target, variant: Variant): Promise<Outcome> {
  const under = prefix(variant)
  const before = await originFetches(stack, under)
  const flood: Sample[] = []
  const legit: Sample[] = []
  let sent = 0
  await Promise.all([
    ...Array.from({ length: FLOOD_CONCURRENCY }, async () => {
      while (sent++ < FLOOD)
        flood.push(
          await get(`${stack.workerUrl}${under}${randomId()}`, { 'cf-connecting-ip': ATTACKER })
        )
    }),
    (async () => {
      for (let i = 0; i < LEGIT_REQUESTS; i++) {
        const id = VALID_IDS[i % VALID_IDS.length]!
        legit.push(await get(`${stack.workerUrl}${under}${id}`, { 'cf-connecting-ip': LEGIT }))
      }
    })(),
  ])
  const after = await originFetches(stack, under)
  return {
    flood,
    legit,
    floodFetches: after.other - before.other,
    legitFetches: after.valid - before.valid,
  }
}

/**
 * 400 requests for random absent ids from one client (20 at a time) and 50 for 10 valid ids from
 * another, against each variant's route in turn, origin 50 ms. The row is the route with both
 * protections (with protection off: none configured); the note compares the four.
 */
export async function penetration(stack: Target, mode: Mode): Promise<Row> {
  const control = await fetch(`${stack.originUrl}/__origin/latency`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ms: 50 }),
  })
  await control.arrayBuffer()
  const warm: string[] = []
  if (mode === 'on') {
    for (const variant of VARIANTS.filter(guarded)) {
      if (!(await warmGuard(stack, variant))) warm.push(variant)
    }
  }
  const outcomes = {} as Record<Variant, Outcome>
  for (const variant of VARIANTS) outcomes[variant] = await attack(stack, variant)
  const both = outcomes.both
  const samples = [...both.flood, ...both.legit]
  const sorted = samples.map((s) => s.ms).sort((a, b) => a - b)
  const legit = VARIANTS.flatMap((variant) => outcomes[variant].legit)
  const count = (answers: Sample[], test: (a: Sample) => boolean) => answers.filter(test).length
  const fetches = VARIANTS.map((v) => `${v} ${outcomes[v].floodFetches}`).join(', ')
  const edge404 = count(both.flood, (a) => a.cacheStatus.includes('membership-absent'))
  const note =
    `${FLOOD} random absent ids from one client per route, miss-limit ${MISS_LIMIT}/60 s: ` +
    (mode === 'on'
      ? `origin fetches for the flood: ${fetches}; on "both" ${edge404} edge 404s and ` +
        `${count(both.flood, (a) => a.status === 429)} 429s`
      : `no guard, no miss-limit on any route: origin fetches for the flood: ${fetches}`) +
    `; legit client (${legit.length} requests for ${VALID_IDS.length} valid ids over the 4 routes): ` +
    `${count(legit, (a) => /; hit;/.test(a.cacheStatus))} hits, ` +
    `${count(legit, (a) => a.status === 429)} 429s, ${count(legit, (a) => a.status !== 200)} not 200, ` +
    `${VARIANTS.reduce((sum, v) => sum + outcomes[v].legitFetches, 0)} origin fetches` +
    (warm.length > 0 ? `; guard list not loaded in time on ${warm.join(', ')}` : '')
  return {
    scenario: 'penetration',
    mode,
    requests: samples.length,
    originFetches: both.floodFetches + both.legitFetches,
    misses: count(samples, (a) => !/; hit;/.test(a.cacheStatus)),
    errors: count(samples, (a) => a.status === 0 || a.status >= 500),
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? 0,
    note,
  }
}
