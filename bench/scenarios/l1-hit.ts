/**
 * DESIGN.md §6, first row: L1-hit throughput of our Worker against a minimal Cache API Worker and
 * `hono/cache`, measured in one run, in interleaved rounds, one target at a time.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { measureLoad, median, type LoadResult } from '../lib/load'
import {
  EDGE_CACHE,
  HONO_CACHE,
  MINIMAL,
  STATIC,
  startTarget,
  type RunningTarget,
  type WorkerTarget,
} from '../lib/targets'
import type { BenchContext, Cell, Scenario, ScenarioResult } from '../lib/types'

// The echo route sets the response's Cache-Control from the query: every target may store it for an
// hour, so nothing expires however long the run. Our config's catch-all route honours the origin.
export const L1_PATH = `/echo/bench?h-cache-control=${encodeURIComponent('public, s-maxage=3600')}`

// STATIC is a reference: the dev server's own cost dominates a hit, and it shows how much.
const TARGETS: readonly WorkerTarget[] = [MINIMAL, HONO_CACHE, EDGE_CACHE, STATIC]

interface Trial extends LoadResult {
  round: number
  originFetches: number
}

interface TargetRun {
  target: WorkerTarget
  running?: RunningTarget
  unavailable?: string
  trials: Trial[]
}

/** Requests the URL until the origin stops seeing it (and, for ours, Cache-Status says an L1 hit). */
async function prime(ctx: BenchContext, run: RunningTarget, failures: string[]): Promise<void> {
  const url = run.url + L1_PATH
  let last = ''
  for (let attempt = 1; attempt <= 30; attempt++) {
    const before = ctx.origin.state.fetches
    const response = await fetch(url)
    await response.arrayBuffer()
    const cacheStatus = response.headers.get('cache-status') ?? ''
    const originQuiet = ctx.origin.state.fetches === before
    last = `status ${response.status}, origin fetches +${ctx.origin.state.fetches - before}, cache-status "${cacheStatus}"`
    if (response.status !== 200) throw new Error(`${run.target.label}: ${url} answered ${last}`)
    const isHit = run.target.ours ? /;\s*hit\b/.test(cacheStatus) : true
    if (originQuiet && isHit && attempt > 1) {
      if (run.target.ours && !/detail=L1\b/.test(cacheStatus)) {
        failures.push(
          `${run.target.label}: primed hit is not from L1 (cache-status "${cacheStatus}")`
        )
      }
      ctx.log(`  primed ${run.target.label} after ${attempt} requests (${last})`)
      return
    }
    // The fill is a background put: give it a moment.
    await sleep(100)
  }
  throw new Error(`${run.target.label}: never served ${L1_PATH} from cache (last: ${last})`)
}

function ratio(value: number, base: number | undefined): number | null {
  return base && Number.isFinite(value) ? value / base : null
}

export const l1Hit: Scenario = {
  name: 'l1-hit',
  description: 'L1-hit throughput: ours vs a minimal Cache API Worker vs hono/cache',
  async run(ctx) {
    const { rounds, seconds, warmupSeconds, connections } = ctx.settings
    const failures: string[] = []
    const runs: TargetRun[] = TARGETS.map((target) => ({ target, trials: [] }))
    ctx.log(`URL: ${L1_PATH} (GET, keep-alive)`)

    for (const run of runs) {
      try {
        run.running = await startTarget(ctx, run.target)
        await ctx.step(`prime ${run.target.label}`, 30_000, () =>
          prime(ctx, run.running!, failures)
        )
      } catch (error) {
        run.unavailable = (error as Error).message.split('\n')[0]!
        failures.push(`${run.target.label} unavailable: ${run.unavailable}`)
        ctx.log(`  ${run.target.label} unavailable: ${(error as Error).message}`)
      }
    }
    const ready = runs.filter((run) => run.running)
    const trialMs = (warmupSeconds + seconds) * 1000 + 30_000

    for (let round = 1; round <= rounds; round++) {
      // Rotate the order (ABC, BCA, CAB...) so no target always runs right after the same one.
      const shift = (round - 1) % Math.max(1, ready.length)
      for (const run of [...ready.slice(shift), ...ready.slice(0, shift)]) {
        const before = ctx.origin.state.fetches
        const result = await ctx.step(`round ${round} ${run.target.label}`, trialMs, () =>
          measureLoad({ url: run.running!.url + L1_PATH, connections, seconds, warmupSeconds })
        )
        const originFetches = ctx.origin.state.fetches - before
        run.trials.push({ ...result, round, originFetches })
        ctx.log(
          `  round ${round}/${rounds} ${run.target.label.padEnd(22)} ${result.rps.toFixed(0).padStart(6)} req/s` +
            `  p50 ${result.latencyMs.p50} ms  p99 ${result.latencyMs.p99} ms  origin +${originFetches}`
        )
      }
    }

    // Still an L1 hit after the run (ours says so itself; the baselines by the origin counter).
    for (const run of ready.filter((r) => r.target.ours)) {
      const response = await fetch(run.running!.url + L1_PATH)
      await response.arrayBuffer()
      const cacheStatus = response.headers.get('cache-status') ?? ''
      if (!/;\s*hit\b/.test(cacheStatus) || !/detail=L1\b/.test(cacheStatus)) {
        failures.push(
          `${run.target.label}: after the run, cache-status is "${cacheStatus}", not an L1 hit`
        )
      }
    }

    const summary = runs.map((run) => {
      const t = run.trials
      return {
        run,
        rps: median(t.map((x) => x.rps)),
        p50: median(t.map((x) => x.latencyMs.p50)),
        p99: median(t.map((x) => x.latencyMs.p99)),
        non2xx: t.reduce((n, x) => n + x.non2xx, 0),
        errors: t.reduce((n, x) => n + x.errors, 0),
        originFetches: t.reduce((n, x) => n + x.originFetches, 0),
      }
    })
    const rpsOf = (target: WorkerTarget) => summary.find((s) => s.run.target === target)?.rps
    const minimalRps = rpsOf(MINIMAL)
    const honoRps = rpsOf(HONO_CACHE)

    for (const s of summary) {
      if (!s.run.running) continue
      const label = s.run.target.label
      if (s.originFetches > 0)
        failures.push(`${label}: ${s.originFetches} origin fetches while measuring`)
      if (s.non2xx > 0) failures.push(`${label}: ${s.non2xx} non-2xx responses`)
      if (s.errors > 0) failures.push(`${label}: ${s.errors} connection errors/timeouts`)
    }

    const rows: Record<string, Cell>[] = summary.map((s) => ({
      target: s.run.unavailable ? `${s.run.target.label} (unavailable)` : s.run.target.label,
      rps: s.run.running ? s.rps : null,
      p50: s.run.running ? s.p50 : null,
      p99: s.run.running ? s.p99 : null,
      non2xx: s.run.running ? s.non2xx : null,
      originFetches: s.run.running ? s.originFetches : null,
      vsMinimal: ratio(s.rps, minimalRps),
      vsHono: ratio(s.rps, honoRps),
    }))

    const notes: string[] = [
      `median of ${rounds} interleaved rounds (order rotated each round); ${seconds} s per trial after ${warmupSeconds} s warm-up; ${connections} connections; one target loaded at a time`,
      "every target runs under `wrangler dev` (a proxy workerd in front of the Worker's): the static row is that ceiling, and it compresses every ratio toward 1",
    ]
    const ours = summary.find((s) => s.run.target === EDGE_CACHE)
    if (ours?.run.running && minimalRps && honoRps) {
      const vsMin = ours.rps / minimalRps
      const vsHono = ours.rps / honoRps
      notes.push(
        `goal (DESIGN.md §6): ≥ 0.90× minimal → ${vsMin.toFixed(2)}× ${vsMin >= 0.9 ? 'met' : 'NOT met'}; ` +
          `≥ 1.00× hono/cache → ${vsHono.toFixed(2)}× ${vsHono >= 1 ? 'met' : 'NOT met'}`
      )
    }

    const result: ScenarioResult = {
      title: 'L1-hit throughput',
      columns: [
        { key: 'target', label: 'target' },
        { key: 'rps', label: 'req/s', format: (v) => v.toFixed(0) },
        { key: 'p50', label: 'p50 ms', format: (v) => v.toFixed(2) },
        { key: 'p99', label: 'p99 ms', format: (v) => v.toFixed(2) },
        { key: 'non2xx', label: 'non-2xx' },
        { key: 'originFetches', label: 'origin fetches during run' },
        { key: 'vsMinimal', label: 'ratio vs minimal', format: (v) => `${v.toFixed(2)}×` },
        { key: 'vsHono', label: 'ratio vs hono/cache', format: (v) => `${v.toFixed(2)}×` },
      ],
      rows,
      notes,
      failures,
      data: {
        url: L1_PATH,
        targets: runs.map((run) => ({
          id: run.target.id,
          label: run.target.label,
          unavailable: run.unavailable ?? null,
          trials: run.trials,
        })),
      },
    }
    return result
  },
}
