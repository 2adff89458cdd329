/**
 * A measured cost model (issue 16): for each workload, per 1,000 requests, the Upstash commands (by
 * name), the Durable Object requests the Worker made (by class), the origin fetches and the Worker's
 * CPU, priced at the published rates of ../lib/prices.ts. Three simulated regions at the real
 * latency matrix, six simulated colos, our Worker with them as L2 (purge feed on, the default).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from '@upstash/redis'
import { startRegions } from '../../tools/regions'
import {
  costPerMillion,
  snapshotter,
  sumCounts,
  topCounts,
  total,
  usageBetween,
  type Usage,
} from '../lib/cost-model'
import {
  DO_GB_PER_OBJECT,
  DO_USD_PER_GB_SECOND,
  DO_USD_PER_REQUEST,
  UPSTASH_USD_PER_COMMAND,
} from '../lib/prices'
import { EDGE_CACHE, startTarget } from '../lib/targets'
import { costWorkloads, type Outcome } from '../lib/cost-workloads'
import type { BenchContext, Scenario, ScenarioResult } from '../lib/types'

const IDLE_SECONDS = 20
/** After each workload: background writes (L2 fills, purge replays) land before counting stops. */
const SETTLE_MS = 1000

/** `{ total: 1 }` → `{ usdTotal: 1 }`: one row feeds two tables. */
function prefixed(prefix: string, values: object): Record<string, number | null> {
  return Object.fromEntries(
    Object.entries(values).map(([key, value]) => [
      `${prefix}${key[0]!.toUpperCase()}${key.slice(1)}`,
      value as number | null,
    ])
  )
}

interface Measured {
  name: string
  outcome: Outcome
  usage: Usage
}

export const cost: Scenario = {
  name: 'cost',
  description:
    'Upstash commands, Durable Object requests and origin fetches per 1,000 requests, priced',
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const regions = await ctx.step('start regions', 60_000, () => startRegions({ latencyScale: 1 }))
    ctx.defer(() => regions.stop())
    const worker = await startTarget(ctx, EDGE_CACHE, {
      L2_REGIONS: regions.l2RegionsJson,
      SIMULATION: '1',
    })
    ctx.origin.state.setLatency(20)
    ctx.defer(() => ctx.origin.state.setLatency(200))
    const snapshot = snapshotter(ctx, regions, worker.url, worker.pgid)

    // What a snapshot costs by itself: two back to back (the first one makes the second's flush
    // non-empty, as every later one is).
    await snapshot()
    const first = await snapshot()
    const overhead = usageBetween(first, await snapshot())

    const measured: Measured[] = []
    const failures: string[] = []
    const euWest = regions.regions.find((region) => region.name === 'eu-west')!
    // Straight to the region's endpoint (a plain route: no simulated latency), outside the counts.
    const raw = new Redis({ url: euWest.url, token: euWest.token, enableTelemetry: false })
    const l2Entries = async (pattern: string) => (await raw.keys(pattern)).length
    for (const workload of costWorkloads(ctx, worker.url, l2Entries)) {
      if (workload.prepare) await ctx.step(`prepare ${workload.name}`, 120_000, workload.prepare)
      await sleep(SETTLE_MS)
      const before = await snapshot()
      const outcome = await ctx.step(workload.name, 120_000, workload.run)
      await sleep(SETTLE_MS)
      const usage = usageBetween(before, await snapshot(), overhead)
      measured.push({ name: workload.name, outcome, usage })
      failures.push(...outcome.problems)
      ctx.log(`  ${workload.name}: ${outcome.requests} requests, ${outcome.saw}`)
    }

    const idleBefore = await snapshot()
    const streamsBefore = total(regions.subscriptions())
    await ctx.step(`idle ${IDLE_SECONDS} s`, (IDLE_SECONDS + 30) * 1000, () =>
      sleep(IDLE_SECONDS * 1000)
    )
    const streamsAfter = total(regions.subscriptions())
    // Commands up to now, before the closing read: it catches its purge view up (feed reads,
    // XRANGE, a health probe), which no idle isolate would do.
    const idleCommands = usageBetween(idleBefore, {
      ...idleBefore,
      at: performance.now(),
      commands: sumCounts(Object.values(regions.commandStats())),
    }).commands
    const idle = { ...usageBetween(idleBefore, await snapshot(), overhead), commands: idleCommands }

    const per1000 = (n: number, requests: number) => (n / requests) * 1000
    const rows = measured.map(({ name, outcome, usage }) => {
      const scale = 1000 / outcome.requests
      const adminAuth = (outcome.adminRequests ?? 0) * 2
      const doCounts = adminAuth
        ? { ...usage.doRequests, 'RateLimiter (admin auth, from code)': adminAuth }
        : usage.doRequests
      return {
        what: name,
        requests: outcome.requests,
        rps: outcome.requests / usage.seconds,
        commands: per1000(total(usage.commands), outcome.requests),
        topCommands: topCounts(usage.commands, scale),
        doPer1000: per1000(total(doCounts), outcome.requests),
        doByClass: topCounts(doCounts, scale, 5),
        origin: per1000(usage.originFetches, outcome.requests),
        cpuMs: usage.workerCpuMs === null ? null : usage.workerCpuMs / outcome.requests,
        ...prefixed('usd', costPerMillion({ ...usage, doRequests: doCounts }, outcome.requests)),
      }
    })

    const hourScale = 3600 / idle.seconds
    const streams = Math.max(streamsBefore, streamsAfter)
    const idleCommandsPerHour = total(idle.commands) * hourScale
    const idleDoPerHour = total(idle.doRequests) * hourScale
    const feedGbSecondsPerHour = streams * 3600 * DO_GB_PER_OBJECT
    const fmt1 = (v: number) => v.toFixed(1)
    const usd = (v: number) => v.toFixed(3)
    return {
      title: 'Cost per 1,000 requests (three simulated regions, six colos, purge feed on)',
      columns: [
        { key: 'what', label: 'workload' },
        { key: 'requests', label: 'requests' },
        { key: 'rps', label: 'req/s', format: (v) => v.toFixed(0) },
        { key: 'commands', label: 'Upstash commands /1000', format: fmt1 },
        { key: 'topCommands', label: 'top commands /1000' },
        { key: 'doPer1000', label: 'DO requests /1000', format: fmt1 },
        { key: 'doByClass', label: 'DO requests by class /1000' },
        { key: 'origin', label: 'origin fetches /1000', format: fmt1 },
        { key: 'cpuMs', label: 'workerd CPU ms/req', format: (v) => v.toFixed(2) },
      ],
      rows,
      tables: [
        {
          title: 'US$ per million requests at published prices (bench/lib/prices.ts)',
          columns: [
            { key: 'what', label: 'workload' },
            { key: 'usdWorkersRequests', label: 'Workers requests', format: usd },
            { key: 'usdWorkersCpu', label: 'Workers CPU', format: usd },
            { key: 'usdDoRequests', label: 'DO requests', format: usd },
            { key: 'usdUpstash', label: 'Upstash commands', format: usd },
            { key: 'usdTotal', label: 'total', format: usd },
          ],
          rows,
        },
        {
          title: `Idle isolate: no requests for ${IDLE_SECONDS} s, scaled to one hour`,
          columns: [
            { key: 'what', label: 'per idle hour' },
            { key: 'value', label: 'count', format: fmt1 },
            { key: 'usd', label: 'US$', format: (v) => v.toFixed(4) },
          ],
          rows: [
            {
              what: `Upstash commands before the closing read (${topCounts(idle.commands, hourScale)})`,
              value: idleCommandsPerHour,
              usd: idleCommandsPerHour * UPSTASH_USD_PER_COMMAND,
            },
            {
              what: "DO requests seen (the closing /_cache/metrics read's purge-view catch-up)",
              value: idleDoPerHour,
              usd: idleDoPerHour * DO_USD_PER_REQUEST,
            },
            {
              what: `PurgeFeed duration: ${streams} subscription streams held open, GB-s`,
              value: feedGbSecondsPerHour,
              usd: feedGbSecondsPerHour * DO_USD_PER_GB_SECOND,
            },
          ],
        },
      ],
      notes: [
        `Each workload is counted between two reads of the Worker's /_cache/metrics, ${SETTLE_MS} ms after its last request (background L2 writes land); what a read costs by itself (measured back to back at the start: ${topCounts(overhead.doRequests, 1)} DO requests, ${total(overhead.commands)} commands) is subtracted. Set-up (priming, the L2 fills) is not counted.`,
        `Upstash commands: every command the three regions' endpoints ran, by name, as Upstash bills them (each command of a pipeline or transaction; EVAL/EVALSHA as one; SUBSCRIBE once per channel, not per message). DO requests: calls the Worker made on stubs (edge_cache_do_requests_total); what the objects do themselves (the PurgeFeed's XRANGE, the Coalescer's fills) shows in the Upstash and origin columns.`,
        `Not counted by the Worker: the admin API's token-failure budget (src/admin/auth-failures.ts) calls a RateLimiter twice per admin request (hit, then refund); the purge-heavy row adds 2 per purge from reading the code, labelled "from code". RateLimiter alarms (billed as requests) are not seen either.`,
        `CPU: the workerd that runs the Worker, its Durable Objects and the local Cache API, per request, priced as Workers CPU (an upper bound of the Worker's own; Durable Objects are billed by duration instead). Durable Object duration is not measured and not in the totals, except the idle PurgeFeed estimate below.`,
        `Prices: marginal, past each plan's included allowance (10 M Workers requests, 30 M CPU ms, 1 M DO requests, 400,000 GB-s a month on Workers Paid; Upstash pay-as-you-go has none), read 2026-12-03; the $5 Workers Paid minimum is left out. Origin fetches are shown, not priced (the origin is yours).`,
        `Time-driven costs: each colo's purge view reads its region's PurgeFeed at most once per purge.pollIntervalMs, and the feed confirms with one XRANGE at most as often, so the PurgeFeed and XRANGE figures per 1,000 requests fall as each colo's request rate rises (req/s column: all colos together, on a shared machine).`,
        `Idle: ${IDLE_SECONDS} s with no requests, scaled ×${hourScale.toFixed(0)} to one hour. A PurgeFeed object holding its region's subscription stream cannot hibernate, so it is billed duration all the time it holds it: ${streams} streams × 3600 s × ${DO_GB_PER_OBJECT * 1024} MB = ${feedGbSecondsPerHour.toFixed(0)} GB-s per hour (an estimate from the open streams, not a measurement of the objects). Without requests the Worker runs nothing (cron triggers do not fire under wrangler dev): the DO requests seen are the closing metrics read catching up its purge view.`,
        ...measured.map(({ name, outcome }) => `${name}: ${outcome.saw}.`),
      ],
      failures,
      data: { overhead, measured, idle: { ...idle, streams } },
    }
  },
}
