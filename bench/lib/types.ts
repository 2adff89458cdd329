import type { DemoOriginServer } from '../../tools/lib/origin-server'

export interface BenchSettings {
  /** Interleaved rounds per target (BENCH_ROUNDS, default 3). */
  rounds: number
  /** Measured seconds per trial (BENCH_SECONDS, default 8). */
  seconds: number
  /** Unmeasured seconds before each trial (BENCH_WARMUP_SECONDS, default 2). */
  warmupSeconds: number
  /** Concurrent connections (BENCH_CONNECTIONS, default 10). */
  connections: number
  /** Keep the Workers' output in a buffer (BENCH_VERBOSE=1 prints it). */
  quiet: boolean
}

export interface BenchContext {
  readonly settings: BenchSettings
  /** The demo origin, in this process: read its counters directly. */
  readonly origin: DemoOriginServer
  readonly adminToken: string
  log(message: string): void
  /** Runs one step with a deadline; the error names the step. */
  step<T>(name: string, timeoutMs: number, fn: () => Promise<T>): Promise<T>
  /** Cleanup run when the scenario ends, however it ends (last registered runs first). */
  defer(cleanup: () => Promise<void> | void): void
}

export type Cell = string | number | null

export interface Column {
  key: string
  label: string
  /** How a number is shown (default: as is). */
  format?: (value: number) => string
}

export interface ScenarioResult {
  title: string
  columns: Column[]
  rows: Record<string, Cell>[]
  /** Further tables, each with a title, printed after the first one. */
  tables?: { title: string; columns: Column[]; rows: Record<string, Cell>[] }[]
  /** Printed under the table (goals, caveats). */
  notes: string[]
  /** Broken invariants: any makes the run exit non-zero. */
  failures: string[]
  /** Raw measurements for latest.json. */
  data?: unknown
}

export interface Scenario {
  name: string
  description: string
  run(ctx: BenchContext): Promise<ScenarioResult>
}
