/**
 * `npm run simulate -- <stampede|expiry|origin-down|all> [--off-only|--on-only]`: drives the local
 * stack (demo origin, L2 regions, the Worker under wrangler dev) through one stampede scenario with
 * stampede protection on (coalescer, stale windows, XFetch, breaker, negative cache) and off, and
 * prints origin fetches, client-visible misses, errors and latency percentiles side by side.
 */
import path from 'node:path'
import { createProgress } from '../lib/progress'
import { startStack } from '../lib/stack'
import { REPO_ROOT } from '../lib/wrangler-dev'
import { cacheConfig, RUN, SCENARIOS, type Mode, type Row } from './scenarios'

function print(rows: Row[]): void {
  const header = [
    'scenario',
    'protection',
    'requests',
    'origin fetches',
    'not hits',
    '5xx/errors',
    'p50 ms',
    'p99 ms',
    'max ms',
    'note',
  ]
  const lines = rows.map((r) =>
    [
      r.scenario,
      r.mode,
      r.requests,
      r.originFetches,
      r.misses,
      r.errors,
      r.p50.toFixed(1),
      r.p99.toFixed(1),
      r.max.toFixed(1),
      r.note,
    ].map(String)
  )
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)))
  const format = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ')
  console.log(format(header))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const line of lines) console.log(format(line))
}

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  const which = args.find((arg) => !arg.startsWith('--')) ?? 'all'
  const scenarios = which === 'all' ? SCENARIOS : SCENARIOS.filter((s) => s === which)
  if (scenarios.length === 0) {
    console.error(`usage: npm run simulate -- <${SCENARIOS.join('|')}|all> [--on-only|--off-only]`)
    process.exit(2)
  }
  const modes: Mode[] = args.includes('--on-only')
    ? ['on']
    : args.includes('--off-only')
      ? ['off']
      : ['on', 'off']
  const rows: Row[] = []
  // One part per protection mode (a stack each); the trials inside are its steps.
  const progress = await createProgress({
    scenarios: modes.map((mode) => `protection ${mode}`),
    file: path.join(REPO_ROOT, 'bench', 'results', 'simulate-durations.json'),
  })
  try {
    for (const mode of modes) {
      const part = `protection ${mode}`
      const starting = progress.step(part, 'starting the stack')
      const stack = await startStack({
        quiet: true,
        originLatencyMs: 200,
        vars: { CACHE_CONFIG: cacheConfig(mode) },
      })
      starting()
      try {
        for (const scenario of scenarios) {
          const done = progress.step(part, scenario)
          rows.push(await RUN[scenario](stack, mode).finally(done))
        }
      } finally {
        await stack.stop()
      }
      progress.scenarioDone(part)
    }
  } finally {
    await progress.close()
  }
  rows.sort((a, b) => SCENARIOS.indexOf(a.scenario) - SCENARIOS.indexOf(b.scenario))
  print(rows)
}

await main()
