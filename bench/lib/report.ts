/**
 * The Markdown report of one scenario, as `npm run bench` printed it: the docs link these files and
 * never copy a figure out of them, so every published figure carries its date, commit and command.
 */
import { execFile } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { format, resolveConfig } from 'prettier'

const run = promisify(execFile)

/** Checked in and linked from docs/benchmarks.md; BENCH_REPORT_DIR redirects trial runs elsewhere. */
export const REPORT_DIR = path.join('docs', 'benchmarks')

/** The settings that change what is measured: the command in a report repeats the ones that were set. */
const MEASURING_ENV = ['BENCH_ROUNDS', 'BENCH_SECONDS', 'BENCH_WARMUP_SECONDS', 'BENCH_CONNECTIONS']

/** The command line that reproduces this run (the settings given, then the scenarios named). */
export function benchCommand(args: readonly string[], env: NodeJS.ProcessEnv): string {
  const settings = MEASURING_ENV.filter((name) => env[name] !== undefined && env[name] !== '').map(
    (name) => `${name}=${env[name]}`
  )
  return [...settings, 'npm run bench', ...(args.length ? ['--', ...args] : [])].join(' ')
}

/**
 * `abc1234`, with ` (dirty)` when the tree has changes other than the reports themselves (a run of
 * one scenario must not mark the next one's report dirty); `unknown` outside a git checkout.
 */
export async function commitOf(root: string): Promise<string> {
  try {
    const { stdout: head } = await run('git', ['rev-parse', '--short', 'HEAD'], { cwd: root })
    const { stdout: changes } = await run(
      'git',
      ['status', '--porcelain', '--', '.', `:(exclude)${REPORT_DIR}`],
      { cwd: root }
    )
    return `${head.trim()}${changes.trim() ? ' (dirty)' : ''}`
  } catch {
    return 'unknown'
  }
}

export interface RunInfo {
  readonly command: string
  readonly commit: string
  /** The set-up block, line by line, as printed before the first scenario. */
  readonly setup: readonly string[]
}

export interface ScenarioTranscript {
  readonly name: string
  readonly description: string
  readonly title: string
  /** What the scenario logged while running (progress, priming, per-burst counts). */
  readonly log: readonly string[]
  /** The table as printed (Markdown), or null when the scenario produced no rows. */
  readonly table: string | null
  readonly notes: readonly string[]
  /** As printed: long ones are cut at the same length as on the terminal. */
  readonly failures: readonly string[]
  readonly finishedAt: Date
}

const fence = (lines: readonly string[]) => ['```text', ...lines, '```'].join('\n')

export function scenarioReport(info: RunInfo, scenario: ScenarioTranscript): string {
  const outcome = scenario.failures.length
    ? `${scenario.failures.length} broken invariant(s), listed under Failures`
    : 'every invariant the scenario checks held'
  const sections = [
    `<!-- Written by \`npm run bench\` (bench/lib/report.ts); do not edit: rerun the command below. -->`,
    `# Benchmark report: ${scenario.name}`,
    scenario.description,
    [
      `- Command: \`${info.command}\``,
      `- Finished: ${scenario.finishedAt.toISOString()}`,
      `- Commit: \`${info.commit}\``,
      `- Outcome: ${outcome}`,
    ].join('\n'),
    '## Set-up',
    fence(info.setup),
  ]
  if (scenario.log.length) sections.push('## Log', fence(scenario.log))
  sections.push(`## ${scenario.title}`)
  if (scenario.table) sections.push(scenario.table)
  if (scenario.notes.length) {
    // An indented note qualifies the one above it (as on the terminal): a nested item.
    const item = (note: string) => `${/^\s/.test(note) ? '  ' : ''}- ${note.trim()}`
    sections.push(scenario.notes.map(item).join('\n'))
  }
  if (scenario.failures.length) {
    sections.push('## Failures', scenario.failures.map((failure) => `- ${failure}`).join('\n'))
  }
  return `${sections.join('\n\n')}\n`
}

/** Writes `<dir>/<scenario>.md`, formatted as `npm run lint` expects it; returns the path. */
export async function writeScenarioReport(
  dir: string,
  info: RunInfo,
  scenario: ScenarioTranscript
): Promise<string> {
  const file = path.join(dir, `${scenario.name}.md`)
  const options = await resolveConfig(file)
  const text = await format(scenarioReport(info, scenario), { ...options, filepath: file })
  await mkdir(dir, { recursive: true })
  await writeFile(file, text)
  return file
}
