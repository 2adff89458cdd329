/**
 * Stampede and expiry storm (DESIGN.md §6): the simulator's scenarios against our Worker with stampede
 * protection on (Coalescer, stale windows, XFetch, breaker) and off, side by side in one run.
 */
import { EDGE_CACHE, startTarget } from '../lib/targets'
import type { BenchContext, ScenarioResult } from '../lib/types'
import { cacheConfig, expiry, stampede, type Mode, type Row } from '../../tools/simulate/scenarios'

export const stampedeScenario = {
  name: 'stampede',
  description: '1000 concurrent cold requests for one key; a hot key across 1 s expiries',
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const failures: string[] = []
    const rows: Row[] = []
    for (const mode of ['on', 'off'] as Mode[]) {
      const worker = await startTarget(ctx, EDGE_CACHE, { CACHE_CONFIG: cacheConfig(mode) })
      const target = { workerUrl: worker.url, originUrl: ctx.origin.url }
      rows.push(
        await ctx.step(`stampede, protection ${mode}`, 180_000, () => stampede(target, mode))
      )
      rows.push(await ctx.step(`expiry, protection ${mode}`, 180_000, () => expiry(target, mode)))
    }
    for (const row of rows.filter((r) => r.mode === 'on')) {
      if (row.scenario === 'stampede' && row.originFetches !== 1)
        failures.push(`stampede with protection: ${row.originFetches} origin fetches (goal: 1)`)
      if (row.scenario === 'expiry' && row.misses > 0)
        failures.push(`expiry with protection: ${row.misses} client-visible misses (goal: 0)`)
    }
    return {
      title: 'Stampede protection',
      columns: [
        { key: 'scenario', label: 'scenario' },
        { key: 'mode', label: 'protection' },
        { key: 'requests', label: 'requests' },
        { key: 'originFetches', label: 'origin fetches' },
        { key: 'misses', label: 'not hits' },
        { key: 'errors', label: '5xx' },
        { key: 'p50', label: 'p50 ms', format: (v) => v.toFixed(1) },
        { key: 'p99', label: 'p99 ms', format: (v) => v.toFixed(1) },
      ],
      rows: rows.map((row) => ({ ...row })),
      notes: [
        'stampede goal: exactly 1 origin fetch (one coalescing domain: no L2 here); follower p99 ≤ origin latency + 50 ms',
        'expiry goal: 0 client-visible misses; origin fetches ≈ run time / TTL (10 s / 1 s)',
        ...rows.map((row) => `${row.scenario} (${row.mode}): ${row.note}`),
        ...rows
          .filter((row) => row.scenario === 'expiry' && row.mode === 'on')
          .map(
            (row) =>
              `goal (issue 16): hot key over 10 × 1 s expiries ≤ 11 origin fetches with 0 misses — measured ${row.originFetches} fetches, ${row.misses} misses — ${row.originFetches <= 11 && row.misses === 0 ? 'met' : 'NOT met'}`
          ),
      ],
      failures,
      data: rows,
    }
  },
}
