/** The one load generator of the bench: autocannon, in this process, against one URL. */
import autocannon from 'autocannon'

export interface LoadOptions {
  url: string
  connections: number
  seconds: number
  /** Unmeasured run first (same URL and connections), so JIT and connection set-up do not count. */
  warmupSeconds?: number
  headers?: Record<string, string>
  method?: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  /** Per-request timeout in seconds (default 10). */
  timeoutSeconds?: number
}

export interface LoadResult {
  /** Completed requests per second over the measured window. */
  rps: number
  requests: number
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number }
  non2xx: number
  errors: number
  timeouts: number
  seconds: number
}

function run(options: LoadOptions, seconds: number): Promise<autocannon.Result> {
  return autocannon({
    url: options.url,
    connections: options.connections,
    duration: seconds,
    method: options.method ?? 'GET',
    headers: options.headers,
    timeout: options.timeoutSeconds ?? 10,
    pipelining: 1,
  })
}

export interface Measured<T> extends LoadResult {
  /** What `sample` returned right before and right after the measured window (not the warm-up). */
  before?: T
  after?: T
}

export async function measureLoad<T = never>(
  options: LoadOptions,
  sample?: () => T
): Promise<Measured<T>> {
  if (options.warmupSeconds) await run(options, options.warmupSeconds)
  const before = sample?.()
  const result = await run(options, options.seconds)
  const after = sample?.()
  const requests = result.requests.total
  return {
    rps: requests / result.duration,
    requests,
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      mean: result.latency.average,
    },
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    seconds: result.duration,
    before,
    after,
  }
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** The p-th percentile (0..100) of ascending `sorted`, nearest rank below. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN
}
