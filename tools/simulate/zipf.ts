/**
 * The `zipf` scenario: keys drawn from a Zipf distribution (a few hot keys, a long cold tail), read
 * through two routes with the same short TTL, one with adaptive TTL by popularity and one without,
 * interleaved so both see the same demand in one run. It reports what adaptive TTL trades: origin
 * fetches against the age of the data clients get.
 */
import { originFetches, percentile } from './client'
import type { Mode, Row, Target } from './scenarios'

const KEYS = 200
const EXPONENT = 1.1
const CLIENTS = 20
const SECONDS = 10
const TTL = 1
const CEILING = 10
const ADAPTIVE = 'zipf-adaptive'
const PLAIN = 'zipf-plain'

/**
 * The scenario's two routes, beside the simulator's `/echo/sim/**` one (`base`): the same TTL and
 * stale windows, one of them adaptive. The estimate's half-life is short for a 10 s run (the default
 * 60 s would still be warming up at its end); a key is cold at one request per 10 s, hot from 5/s.
 */
export function zipfRoutes(base: Record<string, unknown>): Record<string, unknown>[] {
  const route = (name: string) => ({ ...base, pattern: `/echo/sim/${name}/**`, ttl: TTL })
  return [
    {
      ...route(ADAPTIVE),
      adaptiveTtl: {
        ceilingSeconds: CEILING,
        floorShare: 0.5,
        coldPerMinute: 6,
        hotPerMinute: 300,
        halfLifeSeconds: 5,
      },
    },
    route(PLAIN),
  ]
}

/** mulberry32: a seeded draw, so every run asks for the same keys in the same order. */
function seeded(seed: number): () => number {
  let state = seed
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A draw of key ranks 0..n−1 with P(k) ∝ (k + 1)^−s. */
function zipfDraw(n: number, s: number, random: () => number): () => number {
  const cdf: number[] = []
  let sum = 0
  for (let k = 1; k <= n; k++) cdf.push((sum += k ** -s))
  return () => {
    const u = random() * sum
    let lo = 0
    let hi = n - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (cdf[mid]! < u) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

interface Answer {
  readonly ms: number
  readonly status: number
  readonly cacheStatus: string
  /** How old the data was: since its origin answer (body id) was first seen by any client. */
  readonly ageMs: number
}

/** Each origin answer's id, when a client first saw it: when the origin made it, near enough. */
type FirstSeen = Map<string, number>

async function get(url: string, firstSeen: FirstSeen): Promise<Answer> {
  const started = performance.now()
  try {
    const response = await fetch(url)
    const text = await response.text()
    const now = performance.now()
    let ageMs = 0
    if (response.status === 200) {
      const id = (JSON.parse(text) as { id: string }).id
      const seen = firstSeen.get(id)
      if (seen === undefined) firstSeen.set(id, now)
      else ageMs = now - seen
    }
    return {
      ms: now - started,
      status: response.status,
      cacheStatus: response.headers.get('cache-status') ?? '',
      ageMs,
    }
  } catch {
    return { ms: performance.now() - started, status: 0, cacheStatus: '', ageMs: 0 }
  }
}

interface Figures {
  readonly requests: number
  readonly fetches: number
  readonly notHits: number
  readonly errors: number
  readonly meanAgeMs: number
  /** Share of answers whose data was older than the route's TTL. */
  readonly olderThanTtl: number
}

function figures(answers: Answer[], fetches: number): Figures {
  const ok = answers.filter((a) => a.status === 200)
  return {
    requests: answers.length,
    fetches,
    notHits: answers.filter((a) => !/; hit;/.test(a.cacheStatus)).length,
    errors: answers.filter((a) => a.status === 0 || a.status >= 500).length,
    meanAgeMs: ok.reduce((sum, a) => sum + a.ageMs, 0) / Math.max(1, ok.length),
    olderThanTtl: ok.filter((a) => a.ageMs > TTL * 1000).length / Math.max(1, ok.length),
  }
}

/**
 * 20 clients for 10 s, each drawing keys from Zipf(200 keys, s = 1.1) and reading every drawn key
 * through both routes (in turn first), origin 50 ms. The row is the adaptive route's; the note
 * compares it with the plain one.
 */
export async function zipf(stack: Target, mode: Mode): Promise<Row> {
  const control = await fetch(`${stack.originUrl}/__origin/latency`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ms: 50 }),
  })
  await control.arrayBuffer()
  const prefix = (route: string) => `/echo/sim/${route}/${mode}-`
  const before = {
    adaptive: await originFetches(stack, prefix(ADAPTIVE)),
    plain: await originFetches(stack, prefix(PLAIN)),
  }
  const firstSeen: FirstSeen = new Map()
  const answers = { adaptive: [] as Answer[], plain: [] as Answer[] }
  const until = Date.now() + SECONDS * 1000
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, client) => {
      const draw = zipfDraw(KEYS, EXPONENT, seeded(client + 1))
      for (let i = 0; Date.now() < until; i++) {
        const key = draw()
        const order =
          (client + i) % 2 === 0 ? ([ADAPTIVE, PLAIN] as const) : ([PLAIN, ADAPTIVE] as const)
        for (const route of order) {
          const answer = await get(`${stack.workerUrl}${prefix(route)}${key}`, firstSeen)
          ;(route === ADAPTIVE ? answers.adaptive : answers.plain).push(answer)
        }
      }
    })
  )
  const a = figures(
    answers.adaptive,
    (await originFetches(stack, prefix(ADAPTIVE))) - before.adaptive
  )
  const p = figures(answers.plain, (await originFetches(stack, prefix(PLAIN))) - before.plain)
  const sorted = answers.adaptive.map((s) => s.ms).sort((x, y) => x - y)
  const pct = (share: number) => `${(share * 100).toFixed(1)} %`
  return {
    scenario: 'zipf',
    mode,
    requests: a.requests,
    originFetches: a.fetches,
    misses: a.notHits,
    errors: a.errors,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? 0,
    note:
      `Zipf ${KEYS} keys s=${EXPONENT}, ${CLIENTS} clients, ${SECONDS} s, TTL ${TTL} s: adaptiveTtl ` +
      `(ceiling ${CEILING} s) vs without: origin fetches ${a.fetches} vs ${p.fetches}; mean age of ` +
      `the data served ${Math.round(a.meanAgeMs)} vs ${Math.round(p.meanAgeMs)} ms; older than the ` +
      `TTL ${pct(a.olderThanTtl)} vs ${pct(p.olderThanTtl)}; not hits ${a.notHits} vs ${p.notHits} ` +
      `(requests ${a.requests} vs ${p.requests}, errors ${a.errors} vs ${p.errors})`,
  }
}
