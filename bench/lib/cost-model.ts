/**
 * What a stretch of traffic cost, as counted by the local stack: Upstash commands by name (the
 * simulated regions' endpoints), Durable Object requests by class (the Worker's
 * `edge_cache_do_requests_total`, read from /_cache/metrics), origin fetches (the demo origin) and
 * the CPU of the Worker's workerd; then priced at ./prices.ts.
 */
import type { Regions } from '../../tools/regions'
import { groupCpu } from './cpu'
import {
  DO_USD_PER_REQUEST,
  UPSTASH_USD_PER_COMMAND,
  WORKERS_USD_PER_CPU_MS,
  WORKERS_USD_PER_REQUEST,
} from './prices'
import type { BenchContext } from './types'

export type Counts = Record<string, number>

export interface Snapshot {
  at: number
  /** Upstash commands by name, summed over the regions. */
  commands: Counts
  /** Durable Object requests the Worker made, by class. */
  doRequests: Counts
  originFetches: number
  /** CPU of the workerd running the Worker, its Durable Objects and the local Cache API. */
  workerCpuMs: number | null
}

export interface Usage {
  seconds: number
  commands: Counts
  doRequests: Counts
  originFetches: number
  workerCpuMs: number | null
}

const DO_LINE = /^edge_cache_do_requests_total\{class="([A-Za-z]+)"\} (\d+(?:\.\d+)?)$/gm

/** The Worker's `edge_cache_do_requests_total` by class, from its Prometheus text. */
export async function doRequestTotals(workerUrl: string, adminToken: string): Promise<Counts> {
  const response = await fetch(`${workerUrl}/_cache/metrics`, {
    headers: { authorization: `Bearer ${adminToken}` },
  })
  const text = await response.text()
  if (response.status !== 200) throw new Error(`/_cache/metrics answered ${response.status}`)
  const totals: Counts = {}
  for (const [, name, value] of text.matchAll(DO_LINE)) totals[name!] = Number(value)
  return totals
}

export function sumCounts(parts: readonly Counts[]): Counts {
  const total: Counts = {}
  for (const part of parts) {
    for (const [name, n] of Object.entries(part)) total[name] = (total[name] ?? 0) + n
  }
  return total
}

/** `after − before − overhead` per name; names at zero are dropped. */
function difference(after: Counts, before: Counts, overhead: Counts = {}): Counts {
  const out: Counts = {}
  for (const name of new Set([...Object.keys(after), ...Object.keys(before)])) {
    const n = (after[name] ?? 0) - (before[name] ?? 0) - (overhead[name] ?? 0)
    if (n > 0) out[name] = n
  }
  return out
}

export const total = (counts: Counts) => Object.values(counts).reduce((a, b) => a + b, 0)

export function snapshotter(ctx: BenchContext, regions: Regions, workerUrl: string, pgid: number) {
  return async (): Promise<Snapshot> => {
    const doRequests = await doRequestTotals(workerUrl, ctx.adminToken)
    return {
      at: performance.now(),
      commands: sumCounts(Object.values(regions.commandStats())),
      doRequests,
      originFetches: ctx.origin.state.fetches,
      workerCpuMs: groupCpu(pgid)?.workerMs ?? null,
    }
  }
}

/**
 * What happened between two snapshots, less `overhead`: what taking a snapshot costs by itself (its
 * /_cache/metrics read flushes the isolate's metrics to the Stats object and reads them back).
 */
export function usageBetween(before: Snapshot, after: Snapshot, overhead?: Usage): Usage {
  // /proc counts whole clock ticks of the processes alive at each read: a workerd that restarted
  // in between leaves no usable difference (null, shown as —).
  const spent =
    before.workerCpuMs === null || after.workerCpuMs === null
      ? 0
      : after.workerCpuMs - before.workerCpuMs
  const cpu = spent > 0 ? Math.max(0, spent - (overhead?.workerCpuMs ?? 0)) : null
  return {
    seconds: (after.at - before.at) / 1000,
    commands: difference(after.commands, before.commands, overhead?.commands),
    doRequests: difference(after.doRequests, before.doRequests, overhead?.doRequests),
    originFetches: after.originFetches - before.originFetches,
    workerCpuMs: cpu,
  }
}

/** US$ per million requests, by what is billed. */
export interface CostPerMillion {
  workersRequests: number
  workersCpu: number | null
  doRequests: number
  upstash: number
  total: number
}

export function costPerMillion(usage: Usage, requests: number): CostPerMillion {
  const perRequest = (n: number) => n / requests
  const million = 1_000_000
  const workersRequests = million * WORKERS_USD_PER_REQUEST
  const workersCpu =
    usage.workerCpuMs === null
      ? null
      : million * perRequest(usage.workerCpuMs) * WORKERS_USD_PER_CPU_MS
  const doRequests = million * perRequest(total(usage.doRequests)) * DO_USD_PER_REQUEST
  const upstash = million * perRequest(total(usage.commands)) * UPSTASH_USD_PER_COMMAND
  return {
    workersRequests,
    workersCpu,
    doRequests,
    upstash,
    total: workersRequests + (workersCpu ?? 0) + doRequests + upstash,
  }
}

/** `GET 95.0, SET 10.0, …`: the largest `top` counts scaled by `scale`, the rest summed. */
export function topCounts(counts: Counts, scale: number, top = 3): string {
  const sorted = Object.entries(counts).sort((a, b) => b[1] - a[1])
  if (sorted.length === 0) return '—'
  const shown = sorted.slice(0, top).map(([name, n]) => `${name} ${(n * scale).toFixed(1)}`)
  const rest = sorted.slice(top).reduce((sum, [, n]) => sum + n, 0)
  if (rest > 0) shown.push(`others ${(rest * scale).toFixed(1)}`)
  return shown.join(', ')
}
