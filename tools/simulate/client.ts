/**
 * What every simulator scenario does to the stack: timed requests to the Worker, and the demo
 * origin's controls and fetch counters.
 */
import type { Target } from './scenarios'

/** One request's latency, status (0: no answer) and Cache-Status. */
export interface Sample {
  readonly ms: number
  readonly status: number
  readonly cacheStatus: string
}

export async function get(url: string, headers?: Record<string, string>): Promise<Sample> {
  const started = performance.now()
  try {
    const response = await fetch(url, { headers })
    await response.arrayBuffer()
    return {
      ms: performance.now() - started,
      status: response.status,
      cacheStatus: response.headers.get('cache-status') ?? '',
    }
  } catch {
    return { ms: performance.now() - started, status: 0, cacheStatus: '' }
  }
}

export async function originControl(stack: Target, path: string, body: unknown): Promise<void> {
  const response = await fetch(`${stack.originUrl}/__origin/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  await response.arrayBuffer()
}

/** The demo origin's fetch counts by path. */
export async function originByPath(stack: Target): Promise<Record<string, number>> {
  const stats = (await (await fetch(`${stack.originUrl}/__origin/stats`)).json()) as {
    byPath: Record<string, number>
  }
  return stats.byPath
}

/** Origin fetches of every path under `prefix`. */
export async function originFetches(stack: Target, prefix: string): Promise<number> {
  return Object.entries(await originByPath(stack))
    .filter(([path]) => path.startsWith(prefix))
    .reduce((sum, [, count]) => sum + count, 0)
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}
