/**
 * `npm run bench [-- scenario ...]`: runs the named scenarios (all by default) against Workers under
 * `wrangler dev` and an in-process demo origin; prints the set-up and one table per scenario, writes
 * each scenario's report to docs/benchmarks/<scenario>.md (date, commit, command, set-up, tables, as
 * printed: the docs link these, never copy from them) and everything to bench/results/latest.json.
 * Figures are ratios within one run: the machine is shared.
 *
 * Env: BENCH_ROUNDS (3), BENCH_SECONDS (8), BENCH_WARMUP_SECONDS (2), BENCH_CONNECTIONS (10),
 * BENCH_VERBOSE=1 (print the Workers' output), BENCH_REPORT_DIR (docs/benchmarks; point trial runs
 * elsewhere so a short run does not replace a published report).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { serveDemoOrigin } from '../tools/lib/origin-server'
import { stopAll } from '../tools/lib/processes'
import { DEFAULT_ADMIN_TOKEN } from '../tools/lib/stack'
import { REPO_ROOT } from '../tools/lib/wrangler-dev'
import { REPORT_DIR, benchCommand, commitOf, writeScenarioReport, type RunInfo } from './lib/report'
import { createProgress } from '../tools/lib/progress'
import { formatTable } from './lib/table'
import type { BenchContext, BenchSettings, ScenarioResult } from './lib/types'
import { scenarios } from './scenarios'

function envInt(name: string, fallback: number, min: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`${name} must be an integer ≥ ${min}, got "${raw}"`)
  }
  return value
}

async function packageVersion(name: string): Promise<string> {
  try {
    const file = path.join(REPO_ROOT, 'node_modules', name, 'package.json')
    return (JSON.parse(await readFile(file, 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
}

class StepTimeout extends Error {
  static readonly code = 'E_BENCH_STEP_TIMEOUT'
}

function withDeadline<T>(name: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new StepTimeout(`step "${name}" exceeded ${timeoutMs} ms`)),
      timeoutMs
    )
  })
  return Promise.race([fn(), deadline]).finally(() => clearTimeout(timer))
}

async function main(): Promise<number> {
  const args = process.argv.slice(2)
  const names = args.filter((arg) => !arg.startsWith('-'))
  const unknown = names.filter((name) => !scenarios.some((s) => s.name === name))
  if (unknown.length) {
    console.error(
      `unknown scenario(s): ${unknown.join(', ')}; known: ${scenarios.map((s) => s.name).join(', ')}`
    )
    return 2
  }
  const selected = names.length ? scenarios.filter((s) => names.includes(s.name)) : scenarios
  const settings: BenchSettings = {
    rounds: envInt('BENCH_ROUNDS', 3, 1),
    seconds: envInt('BENCH_SECONDS', 8, 1),
    warmupSeconds: envInt('BENCH_WARMUP_SECONDS', 2, 0),
    connections: envInt('BENCH_CONNECTIONS', 10, 1),
    quiet: process.env.BENCH_VERBOSE !== '1',
  }
  const cpus = os.cpus()
  const setup = {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    loadAverage: os.loadavg().map((n) => Number(n.toFixed(2))),
    node: process.version,
    wrangler: await packageVersion('wrangler'),
    workerd: await packageVersion('workerd'),
    hono: await packageVersion('hono'),
    autocannon: await packageVersion('autocannon'),
    ...settings,
    scenarios: selected.map((s) => s.name),
  }
  const setupLines = [
    '# bench set-up',
    `cpu        ${setup.cpus} × ${setup.cpuModel} (load average ${setup.loadAverage.join(' ')})`,
    `runtime    node ${setup.node}, wrangler ${setup.wrangler}, workerd ${setup.workerd}`,
    `load       autocannon ${setup.autocannon}, ${settings.connections} connections`,
    `trials     ${settings.rounds} rounds × ${settings.seconds} s (+${settings.warmupSeconds} s warm-up)`,
    `scenarios  ${setup.scenarios.join(', ')}`,
  ]
  for (const line of setupLines) console.log(line)
  // The commit is read before anything runs: the reports name the code that was measured.
  const info: RunInfo = {
    command: benchCommand(args, process.env),
    commit: await commitOf(REPO_ROOT),
    setup: setupLines,
  }
  const reportDir = process.env.BENCH_REPORT_DIR
    ? path.resolve(process.env.BENCH_REPORT_DIR)
    : path.join(REPO_ROOT, REPORT_DIR)

  const progress = await createProgress({
    scenarios: selected.map((scenario) => scenario.name),
    file: path.join(REPO_ROOT, 'bench', 'results', 'durations.json'),
    settings: `rounds=${settings.rounds} seconds=${settings.seconds} warmup=${settings.warmupSeconds} connections=${settings.connections}`,
  })
  const origin = await serveDemoOrigin({ latencyMs: 200 })
  const results: { name: string; description: string; result: ScenarioResult }[] = []
  let failed = false
  try {
    for (const scenario of selected) {
      console.log(`\n## ${scenario.name}: ${scenario.description}`)
      const cleanups: (() => Promise<void> | void)[] = []
      const log: string[] = []
      const ctx: BenchContext = {
        settings,
        origin,
        adminToken: process.env.ADMIN_TOKEN || DEFAULT_ADMIN_TOKEN,
        log: (message) => {
          log.push(message)
          progress.print(message)
        },
        step: (name, timeoutMs, fn) => {
          const done = progress.step(scenario.name, name)
          return withDeadline(name, timeoutMs, fn).finally(done)
        },
        defer: (cleanup) => cleanups.push(cleanup),
      }
      let result: ScenarioResult
      let aborted = false
      try {
        result = await scenario.run(ctx)
      } catch (error) {
        aborted = true
        const message = (error as Error).message
        result = {
          title: scenario.name,
          columns: [],
          rows: [],
          notes: [],
          failures: [`aborted: ${message}`],
        }
      } finally {
        for (const cleanup of cleanups.reverse()) {
          await withDeadline('cleanup', 20_000, async () => cleanup()).catch((error: Error) =>
            console.error(`cleanup failed: ${error.message}`)
          )
        }
      }
      if (!aborted) progress.scenarioDone(scenario.name)
      results.push({ name: scenario.name, description: scenario.description, result })
      const table = renderTables(result)
      if (table) console.log(`\n${table}`)
      for (const note of result.notes) console.log(`  ${note}`)
      // A failure can quote a whole request (a pipeline of scripts): keep the table readable.
      const failures = result.failures.map((failure) =>
        failure.length > 600 ? `${failure.slice(0, 600)}… (${failure.length} chars)` : failure
      )
      for (const failure of failures) console.log(`  FAIL: ${failure}`)
      failed ||= result.failures.length > 0
      // An aborted scenario measured nothing: its published report stays as it was.
      if (aborted) {
        console.log(`  report not written: ${scenario.name} was aborted`)
        continue
      }
      try {
        const file = await writeScenarioReport(reportDir, info, {
          name: scenario.name,
          description: scenario.description,
          title: result.title,
          log,
          table,
          notes: result.notes,
          failures,
          finishedAt: new Date(),
        })
        console.log(`  report written to ${path.relative(process.cwd(), file)}`)
      } catch (error) {
        // The measurements are still printed above and in latest.json: go on with the next scenario.
        console.error(`  report not written: ${(error as Error).message}`)
        failed = true
      }
    }
  } finally {
    await progress.close()
    await origin.close()
    await stopAll()
  }

  const file = path.join(REPO_ROOT, 'bench', 'results', 'latest.json')
  await mkdir(path.dirname(file), { recursive: true })
  const json = {
    finishedAt: new Date().toISOString(),
    command: info.command,
    commit: info.commit,
    setup,
    scenarios: results.map(({ name, description, result }) => ({
      name,
      description,
      title: result.title,
      table: renderTables(result),
      rows: result.rows,
      notes: result.notes,
      failures: result.failures,
      data: result.data ?? null,
    })),
  }
  await writeFile(file, `${JSON.stringify(json, null, 2)}\n`)
  console.log(`\nresults written to ${path.relative(process.cwd(), file)}`)
  return failed ? 1 : 0
}

/** The scenario's tables as printed (Markdown): the first, then each further one under its title. */
function renderTables(result: ScenarioResult): string | null {
  const parts = result.rows.length ? [formatTable(result.columns, result.rows)] : []
  for (const extra of result.tables ?? []) {
    if (extra.rows.length)
      parts.push(`### ${extra.title}\n\n${formatTable(extra.columns, extra.rows)}`)
  }
  return parts.length ? parts.join('\n\n') : null
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    console.error(error)
    await stopAll()
    process.exit(1)
  }
)
