/**
 * The memory hit's own JS, without HTTP: our Worker runs `n` hits in one request
 * (bench/workers/hit-loop-worker.ts), and the same loop builds the static Worker's response instead.
 * Alternated many times and timed from here, the difference per iteration is what a hit costs over
 * answering at all, with no `wrangler dev` proxy, socket or connection in either figure: the l1-hit
 * scenario's ratios include those, which compress every difference toward 1.
 */
import { performance } from 'node:perf_hooks'
import { median } from '../lib/load'
import { EDGE_CACHE_LOOP, startTarget } from '../lib/targets'
import type { BenchContext, Scenario, ScenarioResult } from '../lib/types'
import { L1_PATH } from './l1-hit'

/** Iterations per loop request: long enough to dwarf the request around it, short enough to alternate often. */
const ITERATIONS = 1500
/** Alternations per round: hit loop, then static loop. */
const PAIRS_PER_ROUND = 8

interface LoopAnswer {
  n: number
  cacheStatus: string
}

async function timedLoop(
  url: string,
  kind: 'hit' | 'static'
): Promise<{ usPerIteration: number; answer: LoopAnswer }> {
  const started = performance.now()
  const response = await fetch(
    `${url}/__bench/${kind}-loop?n=${ITERATIONS}&u=${encodeURIComponent(L1_PATH)}`
  )
  const answer = (await response.json()) as LoopAnswer
  const ms = performance.now() - started
  if (!response.ok) throw new Error(`${kind} loop answered ${response.status}`)
  return { usPerIteration: (ms * 1000) / answer.n, answer }
}

export const hitLoop: Scenario = {
  name: 'hit-loop',
  description: 'A memory hit vs building a static response, timed in one isolate (no HTTP)',
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const failures: string[] = []
    const running = await startTarget(ctx, EDGE_CACHE_LOOP)
    // Primed: stored, then read from memory (the loop's first iteration would fill it otherwise).
    for (let i = 0; i < 3; i++) await (await fetch(running.url + L1_PATH)).arrayBuffer()
    // Warm-up: both loops once, unmeasured (the JIT compiles the hit path here).
    await timedLoop(running.url, 'hit')
    await timedLoop(running.url, 'static')

    const pairs: { hit: number; static: number }[] = []
    const pairCount = ctx.settings.rounds * PAIRS_PER_ROUND
    for (let i = 0; i < pairCount; i++) {
      const hit = await timedLoop(running.url, 'hit')
      const plain = await timedLoop(running.url, 'static')
      if (
        !/;\s*hit\b/.test(hit.answer.cacheStatus) ||
        !hit.answer.cacheStatus.includes('detail=memory')
      ) {
        failures.push(
          `the hit loop's last answer says "${hit.answer.cacheStatus}", not a memory hit`
        )
        break
      }
      pairs.push({ hit: hit.usPerIteration, static: plain.usPerIteration })
    }
    ctx.log(
      `  ${pairs.length} alternations of ${ITERATIONS} iterations: hit ${pairs.map((p) => p.hit.toFixed(0)).join(' ')} µs; static ${pairs.map((p) => p.static.toFixed(0)).join(' ')} µs`
    )

    const hit = median(pairs.map((p) => p.hit))
    const plain = median(pairs.map((p) => p.static))
    const extra = median(pairs.map((p) => p.hit - p.static))
    const ratio = median(pairs.map((p) => p.hit / p.static))
    const us = (v: number) => v.toFixed(1)
    return {
      title: 'Memory hit in one isolate (no HTTP)',
      columns: [
        { key: 'loop', label: 'loop (each iteration builds a Request and reads the body)' },
        { key: 'us', label: 'µs per iteration (median)', format: us },
        { key: 'min', label: 'min', format: us },
      ],
      rows: [
        {
          loop: 'ours: app.fetch, a memory hit',
          us: hit,
          min: Math.min(...pairs.map((p) => p.hit)),
        },
        {
          loop: 'static: new Response (the static Worker)',
          us: plain,
          min: Math.min(...pairs.map((p) => p.static)),
        },
      ],
      notes: [
        `${pairs.length} alternations (${ctx.settings.rounds} rounds × ${PAIRS_PER_ROUND}) of a ${ITERATIONS}-iteration loop each, timed from the bench (request included, spread over the iterations)`,
        `a memory hit costs ${us(extra)} µs more than building the static response (median of the per-alternation differences); ${ratio.toFixed(2)}× its time`,
        'what that covers: Hono routing, the request context, the rate-limit rule match, route and key, the purge view check, the memory read, Cache-Status and Age, the metrics; each alternation runs both loops back to back, so a slower machine moves both',
      ],
      failures,
      data: { iterations: ITERATIONS, pairs },
    }
  },
}
