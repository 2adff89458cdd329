/**
 * DESIGN.md §6, first row: L1-hit throughput of our Worker against a minimal Cache API Worker and
 * `hono/cache`, measured in one run, in interleaved rounds, one target at a time.
 */
import { cpus } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { groupCpu, type GroupCpu } from '../lib/cpu'
import { measureLoad, median, type LoadResult } from '../lib/load'
import {
  EDGE_CACHE,
  EDGE_CACHE_L1,
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
const TARGETS: readonly WorkerTarget[] = [MINIMAL, HONO_CACHE, EDGE_CACHE_L1, EDGE_CACHE, STATIC]

interface Trial extends LoadResult {
  round: number
  originFetches: number
  /** CPU per request of the Worker's own workerd, and of the whole `wrangler dev` group. */
  workerCpuUs: number | null
  allCpuUs: number | null
  /** Cores' worth of CPU used by other processes (neither the target nor the bench) meanwhile. */
  otherLoadCores: number | null
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
      if (run.target.ours && !cacheStatus.includes(`detail=${run.target.hitDetail}`)) {
        failures.push(
          `${run.target.label}: primed hit is not from ${run.target.hitDetail} (cache-status "${cacheStatus}")`
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

function perRequestUs(
  before: GroupCpu | null | undefined,
  after: GroupCpu | null | undefined,
  requests: number,
  pick: (cpu: GroupCpu) => number | null
): number | null {
  const a = before && pick(before)
  const b = after && pick(after)
  return a !== null && a !== undefined && b !== null && b !== undefined && requests > 0
    ? ((b - a) * 1000) / requests
    : null
}

function otherLoad(
  before: GroupCpu | null | undefined,
  after: GroupCpu | null | undefined,
  seconds: number
): number | null {
  if (!before || !after || before.systemBusyMs === null || after.systemBusyMs === null) return null
  const busy = after.systemBusyMs - before.systemBusyMs
  const ours = after.allMs - before.allMs + (after.selfMs - before.selfMs)
  return Math.max(0, busy - ours) / 1000 / seconds
}

function sum(values: readonly number[]): number {
  return values.reduce((n, x) => n + x, 0)
}

function medianOrNull(values: readonly (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null)
  return known.length ? median(known) : null
}

interface TargetSummary {
  run: TargetRun
  rps: number
  workerCpuUs: number | null
  vsMinimal: number | null
  vsHono: number | null
}

const verdict = (met: boolean) => (met ? 'met' : 'NOT met')

/**
 * Issue 16's throughput goals, from this run's figures: the default (memory hit) against the static
 * ceiling, and L1 only against the minimal Worker and hono/cache, by req/s (paired ratio) and by the
 * Worker's CPU per request.
 */
function issue16Goals(base: (target: WorkerTarget) => TargetSummary | undefined): string[] {
  const lines: string[] = []
  const ours = base(EDGE_CACHE)
  const ceiling = base(STATIC)
  if (ours?.run.running && ceiling?.run.running) {
    const rps = pairedRatio(ours.run, ceiling.run)
    const cpu =
      ours.workerCpuUs && ceiling.workerCpuUs ? ours.workerCpuUs / ceiling.workerCpuUs : null
    lines.push(
      `goal (issue 16): default hit ≥ 0.95× the static ceiling's req/s — measured ${rps?.toFixed(3) ?? '?'}× — ${verdict(rps !== null && rps >= 0.95)}`,
      `goal (issue 16): default hit ≤ 1.15× the static ceiling's Worker CPU per request — measured ${cpu?.toFixed(2) ?? '?'}× (${ours.workerCpuUs?.toFixed(0) ?? '?'} vs ${ceiling.workerCpuUs?.toFixed(0) ?? '?'} µs) — ${verdict(cpu !== null && cpu <= 1.15)}`
    )
  }
  const l1 = base(EDGE_CACHE_L1)
  if (!l1?.run.running) return lines
  for (const [target, ratio] of [
    [MINIMAL, l1.vsMinimal],
    [HONO_CACHE, l1.vsHono],
  ] as const) {
    const other = base(target)
    if (!other?.run.running) continue
    const cpu = l1.workerCpuUs && other.workerCpuUs ? other.workerCpuUs / l1.workerCpuUs : null
    lines.push(
      `goal (issue 16): L1-only hit ≥ 1.00× ${target.label} by req/s — measured ${ratio?.toFixed(3) ?? '?'}× — ${verdict(ratio !== null && ratio >= 1)}`,
      `goal (issue 16): L1-only hit ≥ 1.00× ${target.label} by Worker CPU per request (theirs ÷ ours) — measured ${cpu?.toFixed(2) ?? '?'}× (${l1.workerCpuUs?.toFixed(0) ?? '?'} vs ${other.workerCpuUs?.toFixed(0) ?? '?'} µs) — ${verdict(cpu !== null && cpu >= 1)}`
    )
  }
  return lines
}

/**
 * Ratio of throughputs measured in the same round, then the median over rounds: background load
 * drifts over a run, and pairing trials of one round cancels most of it.
 */
function pairedRatio(run: TargetRun, base: TargetRun | undefined): number | null {
  if (!base?.running || !run.running) return null
  const ratios = run.trials.flatMap((trial) => {
    const other = base.trials.find((t) => t.round === trial.round)
    return other && other.rps > 0 ? [trial.rps / other.rps] : []
  })
  return ratios.length ? median(ratios) : null
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
        const { url, pgid } = run.running!
        const before = ctx.origin.state.fetches
        const result = await ctx.step(`round ${round} ${run.target.label}`, trialMs, () =>
          measureLoad({ url: url + L1_PATH, connections, seconds, warmupSeconds }, () =>
            groupCpu(pgid)
          )
        )
        const originFetches = ctx.origin.state.fetches - before
        const { before: cpu0, after: cpu1, ...load } = result
        const trial: Trial = {
          ...load,
          round,
          originFetches,
          workerCpuUs: perRequestUs(cpu0, cpu1, load.requests, (c) => c.workerMs),
          allCpuUs: perRequestUs(cpu0, cpu1, load.requests, (c) => c.allMs),
          otherLoadCores: otherLoad(cpu0, cpu1, load.seconds),
        }
        run.trials.push(trial)
        ctx.log(
          `  round ${round}/${rounds} ${run.target.label.padEnd(24)} ${load.rps.toFixed(0).padStart(6)} req/s` +
            `  p50 ${load.latencyMs.p50} ms  p99 ${load.latencyMs.p99} ms` +
            `  worker CPU ${trial.workerCpuUs?.toFixed(0) ?? '?'} µs/req  origin +${originFetches}` +
            `  other load ${trial.otherLoadCores?.toFixed(2) ?? '?'} cores`
        )
      }
    }

    // Still a hit from the tier under test after the run (ours says so; the baselines by the origin counter).
    for (const run of ready.filter((r) => r.target.ours)) {
      // Two requests: after the run's last request, a memory copy may have outlived its max age, and
      // the first probe then (rightly) reads L1 and refills memory.
      let cacheStatus = ''
      for (let probe = 0; probe < 2; probe++) {
        const response = await fetch(run.running!.url + L1_PATH)
        await response.arrayBuffer()
        cacheStatus = response.headers.get('cache-status') ?? ''
      }
      if (
        !/;\s*hit\b/.test(cacheStatus) ||
        !cacheStatus.includes(`detail=${run.target.hitDetail}`)
      ) {
        failures.push(
          `${run.target.label}: after the run, cache-status is "${cacheStatus}", not a ${run.target.hitDetail} hit`
        )
      }
    }

    const byTarget = (target: WorkerTarget) => runs.find((r) => r.target === target)
    const minimal = byTarget(MINIMAL)
    const hono = byTarget(HONO_CACHE)

    const summary = runs.map((run) => {
      const t = run.trials
      return {
        run,
        rps: median(t.map((x) => x.rps)),
        p50: median(t.map((x) => x.latencyMs.p50)),
        p99: median(t.map((x) => x.latencyMs.p99)),
        workerCpuUs: medianOrNull(t.map((x) => x.workerCpuUs)),
        allCpuUs: medianOrNull(t.map((x) => x.allCpuUs)),
        non2xx: sum(t.map((x) => x.non2xx)),
        errors: sum(t.map((x) => x.errors + x.timeouts)),
        originFetches: sum(t.map((x) => x.originFetches)),
        vsMinimal: pairedRatio(run, minimal),
        vsHono: pairedRatio(run, hono),
      }
    })

    for (const s of summary) {
      if (!s.run.running) continue
      const label = s.run.target.label
      if (s.originFetches > 0)
        failures.push(`${label}: ${s.originFetches} origin fetches while measuring`)
      if (s.non2xx > 0) failures.push(`${label}: ${s.non2xx} non-2xx responses`)
      if (s.errors > 0) failures.push(`${label}: ${s.errors} connection errors/timeouts`)
    }

    const rows: Record<string, Cell>[] = summary.map((s) => {
      const up = s.run.running !== undefined
      return {
        target: up ? s.run.target.label : `${s.run.target.label} (unavailable)`,
        rps: up ? s.rps : null,
        p50: up ? s.p50 : null,
        p99: up ? s.p99 : null,
        workerCpuUs: s.workerCpuUs,
        allCpuUs: s.allCpuUs,
        non2xx: up ? s.non2xx : null,
        originFetches: up ? s.originFetches : null,
        vsMinimal: s.vsMinimal,
        vsHono: s.vsHono,
      }
    })

    const notes: string[] = [
      `req/s, latencies and CPU: medians of ${rounds} interleaved rounds (order rotated each round); ${seconds} s per trial after ${warmupSeconds} s warm-up; ${connections} connections; one target loaded at a time`,
      "ratios: median over rounds of req/s ÷ the baseline's req/s in the same round",
      "CPU µs/req: the Worker's own workerd (it also runs the Cache API) | the whole `wrangler dev` group; steadier than req/s on a shared machine",
      "every target runs under `wrangler dev` (a proxy workerd in front of the Worker's): the static row is that ceiling, and it compresses every req/s ratio toward 1",
    ]
    const others = runs
      .flatMap((run) => run.trials.map((t) => t.otherLoadCores))
      .filter((v) => v !== null)
    if (others.length) {
      const worst = Math.max(...others)
      notes.push(
        `other processes used ${median(others).toFixed(2)} cores (median; worst trial ${worst.toFixed(2)}) of ${cpus().length} while measuring` +
          (worst > 0.25 ? ': the machine was busy, trust the CPU columns more than req/s' : '')
      )
    }
    const base = (target: WorkerTarget) => summary.find((s) => s.run.target === target)
    const goals: Array<[WorkerTarget, string]> = [
      [EDGE_CACHE_L1, 'goal (DESIGN.md §6), L1 hit'],
      [EDGE_CACHE, 'stretch (DESIGN.md §6), in-isolate hot tier'],
    ]
    for (const [target, what] of goals) {
      const ours = base(target)
      if (!ours?.run.running || ours.vsMinimal === null || ours.vsHono === null) continue
      const minimalGoal = target === EDGE_CACHE ? 1 : 0.9
      notes.push(
        `${what}: ≥ ${minimalGoal.toFixed(2)}× minimal → ${ours.vsMinimal.toFixed(3)}× ${ours.vsMinimal >= minimalGoal ? 'met' : 'NOT met'}; ` +
          `≥ 1.00× hono/cache → ${ours.vsHono.toFixed(3)}× ${ours.vsHono >= 1 ? 'met' : 'NOT met'}`
      )
      const cpuMin = base(MINIMAL)?.workerCpuUs
      const cpuHono = base(HONO_CACHE)?.workerCpuUs
      if (ours.workerCpuUs && cpuMin && cpuHono) {
        notes.push(
          `  ${target.label} by Worker CPU per request (inverse, as a throughput ratio): ${(cpuMin / ours.workerCpuUs).toFixed(2)}× minimal, ` +
            `${(cpuHono / ours.workerCpuUs).toFixed(2)}× hono/cache`
        )
      }
    }

    notes.push(...issue16Goals(base))

    const us = (v: number) => v.toFixed(0)
    const times = (v: number) => `${v.toFixed(2)}×`
    const result: ScenarioResult = {
      title: 'L1-hit throughput',
      columns: [
        { key: 'target', label: 'target' },
        { key: 'rps', label: 'req/s', format: (v) => v.toFixed(0) },
        { key: 'p50', label: 'p50 ms', format: (v) => v.toFixed(1) },
        { key: 'p99', label: 'p99 ms', format: (v) => v.toFixed(1) },
        { key: 'workerCpuUs', label: 'Worker CPU µs/req', format: us },
        { key: 'allCpuUs', label: 'all CPU µs/req', format: us },
        { key: 'non2xx', label: 'non-2xx' },
        { key: 'originFetches', label: 'origin fetches during run' },
        { key: 'vsMinimal', label: 'ratio vs minimal', format: times },
        { key: 'vsHono', label: 'ratio vs hono/cache', format: times },
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
