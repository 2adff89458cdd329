/**
 * Progress of a long run (bench, simulate): what is running and about how long is left. On a TTY one
 * line on stderr is redrawn every second; elsewhere (CI, a pipe) a plain line per step. Stdout and the
 * reports carry only results: progress never ends up in them.
 *
 * "Left" comes from what the previous run of the same steps took (`bench/results/durations.json`,
 * written at the end of each run, gitignored with the results): an estimate from this machine's
 * last run, never a figure of its own. A first run shows elapsed time only.
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises'
import path from 'node:path'

export interface Progress {
  /** A step starts; the returned function ends it. */
  step(scenario: string, name: string): () => void
  /** Prints a result line on stdout (the progress line, if drawn, is redrawn under it). */
  print(message: string): void
  /** One scenario is over (its time goes into the estimate for the next run). */
  scenarioDone(scenario: string): void
  /** Stops the redraw and saves this run's durations. */
  close(): Promise<void>
}

type Durations = Record<string, number>

function formatMs(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000))
  if (seconds < 60) return `${seconds} s`
  const minutes = Math.floor(seconds / 60)
  return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`
}

export async function createProgress(options: {
  /** Scenario names in the order they will run. */
  readonly scenarios: readonly string[]
  readonly file: string
  /** The settings that change how long parts take (rounds, seconds...): estimates are per setting. */
  readonly settings?: string
  readonly out?: NodeJS.WriteStream
}): Promise<Progress> {
  const out = options.out ?? process.stderr
  const tty = out.isTTY === true && process.env.CI !== 'true'
  const settings = options.settings ?? ''
  let saved: Record<string, Durations> = {}
  try {
    saved = JSON.parse(await readFile(options.file, 'utf8')) as Record<string, Durations>
  } catch {
    // No earlier run here: elapsed time only.
  }
  const previous: Durations = saved[settings] ?? {}
  const measured: Durations = {}
  const startedAt = new Map<string, number>()
  let current: { scenario: string; name: string; since: number } | undefined
  let timer: NodeJS.Timeout | undefined

  /** Time left in the run, from the previous run's scenario durations; undefined if unknown. */
  function left(now: number): number | undefined {
    let total = 0
    for (const scenario of options.scenarios) {
      const before = previous[scenario]
      if (before === undefined) return undefined
      if (measured[scenario] !== undefined) continue
      const since = startedAt.get(scenario)
      total += since === undefined ? before : Math.max(0, before - (now - since))
    }
    return total
  }

  function line(now: number, elapsed: boolean): string {
    if (!current) return ''
    const index = options.scenarios.indexOf(current.scenario) + 1
    const remaining = left(now)
    return (
      `▸ ${current.scenario} (${index}/${options.scenarios.length}): ${current.name}` +
      (elapsed ? ` · ${formatMs(now - current.since)}` : '') +
      (remaining === undefined
        ? ' · first run here: no estimate'
        : ` · about ${formatMs(remaining)} left`)
    )
  }

  function redraw(): void {
    out.write(`\r\x1b[2K${line(Date.now(), true)}`)
  }

  return {
    step(scenario, name) {
      const now = Date.now()
      if (!startedAt.has(scenario)) startedAt.set(scenario, now)
      current = { scenario, name, since: now }
      if (tty) {
        redraw()
        timer ??= setInterval(redraw, 1000)
      } else {
        out.write(`${line(now, false)}\n`)
      }
      return () => {
        current = undefined
        if (tty) out.write('\r\x1b[2K')
      }
    },
    print(message) {
      if (tty && current) out.write('\r\x1b[2K')
      console.log(message)
      if (tty && current) redraw()
    },
    scenarioDone(scenario) {
      const since = startedAt.get(scenario)
      if (since !== undefined) measured[scenario] = Date.now() - since
    },
    async close() {
      if (timer) clearInterval(timer)
      if (tty) out.write('\r\x1b[2K')
      await mkdir(path.dirname(options.file), { recursive: true })
      const next = { ...saved, [settings]: { ...previous, ...measured } }
      await writeFile(options.file, `${JSON.stringify(next, null, 2)}\n`)
    },
  }
}
