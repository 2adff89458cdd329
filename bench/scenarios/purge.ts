/**
 * DESIGN.md §6, purge row: propagation from the purge API's answer until no region and no colo
 * serves the old content. Three simulated regions at the real latency matrix; six simulated colos
 * (two per region), each with its own memory tier, L1 and purge view. Each purge (by tag, URL or
 * prefix, in turn) targets an entry that every colo holds; right after the API answers, every colo
 * asks for it in a closed loop until it has seen new content three times in a row. The propagation
 * of one purge is when the last old answer (anywhere) arrived.
 */
import { readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { startRegions, type Regions } from '../../tools/regions'
import { REPO_ROOT } from '../../tools/lib/wrangler-dev'
import { percentile } from '../lib/load'
import { requestPurge } from '../../tools/lib/purge-request'
import { EDGE_CACHE, startTarget, type WorkerTarget } from '../lib/targets'
import type { BenchContext, Scenario, ScenarioResult } from '../lib/types'

/**
 * Upstash Redis pay-as-you-go: $0.20 per 100,000 commands (upstash.com/pricing, as published in
 * 2025; check the page before relying on the dollar figures, the command counts are measured).
 */
export const UPSTASH_USD_PER_COMMAND = 0.2 / 100_000
/** How long the cost phase keeps every colo busy with hits. */
const COST_PHASE_MS = 5000
/** Purges made in the cost phase that counts their commands. */
const COST_PURGES = 10

/** The Worker without the PURGE_FEED binding: isolates read the regions' logs themselves. */
async function withoutFeed(): Promise<{ target: WorkerTarget; remove: () => Promise<void> }> {
  const toml = await readFile(path.join(REPO_ROOT, 'wrangler.toml'), 'utf8')
  const stripped = toml.replace(
    /\[\[durable_objects\.bindings\]\]\nname = "PURGE_FEED"\nclass_name = "PurgeFeed"\n/,
    ''
  )
  if (stripped === toml) throw new Error('wrangler.toml: the PURGE_FEED binding was not found')
  // Beside wrangler.toml: `main` and the rules resolve from the config's folder.
  const configPath = path.join(REPO_ROOT, '.bench-no-feed.wrangler.toml')
  await writeFile(configPath, stripped)
  return {
    target: {
      ...EDGE_CACHE,
      id: 'edge-api-cache-no-feed',
      label: 'ours, no purge feed',
      configPath,
    },
    remove: () => rm(configPath, { force: true }),
  }
}

interface Cost {
  label: string
  requests: number
  seconds: number
  commands: number
  purges: number
  purgeCommands: number
}

/** Upstash commands (REST requests to every region) while six colos serve hits, then per purge. */
async function measureCost(
  ctx: BenchContext,
  regions: Regions,
  workerUrl: string,
  label: string
): Promise<Cost> {
  const path = `/echo/purge-cost-${label.replace(/\W/g, '')}?h-cache-control=${encodeURIComponent('max-age=3600')}`
  for (const colo of COLOS) await get(`${workerUrl}${path}`, colo)
  await sleep(1500) // every colo's view has read its logs once (its first reads are catch-ups)
  const commands = () =>
    Object.values(regions.stats()).reduce(
      (sum, region) => sum + Object.values(region.requests).reduce((a, b) => a + b, 0),
      0
    )
  const before = commands()
  const started = performance.now()
  let requests = 0
  await Promise.all(
    COLOS.map(async (colo) => {
      while (performance.now() - started < COST_PHASE_MS) {
        const answer = await get(`${workerUrl}${path}`, colo)
        if (!/; hit;/.test(answer.cacheStatus)) throw new Error(`cost phase: a miss at ${colo}`)
        requests++
      }
    })
  )
  const seconds = (performance.now() - started) / 1000
  const during = commands() - before
  const beforePurges = commands()
  for (let i = 0; i < COST_PURGES; i++) {
    const response = await requestPurge(workerUrl, ctx.adminToken, {
      tags: [`purge-cost-${label.replace(/\W/g, '')}-${i}`],
    })
    await response.arrayBuffer()
  }
  return {
    label,
    requests,
    seconds,
    commands: during,
    purges: COST_PURGES,
    purgeCommands: commands() - beforePurges,
  }
}

const COLOS = ['IAD', 'EWR', 'LHR', 'CDG', 'BOM', 'SIN'] as const
const PURGES_PER_ROUND = 20
const BATCH = 10
const KINDS = ['tag', 'url', 'prefix'] as const
type Kind = (typeof KINDS)[number]

async function get(url: string, colo: string): Promise<{ body: string; cacheStatus: string }> {
  const response = await fetch(url, { headers: { 'x-sim-colo': colo } })
  return { body: await response.text(), cacheStatus: response.headers.get('cache-status') ?? '' }
}

interface Sample {
  kind: Kind
  /** Purge API round trip. */
  apiMs: number
  /** From the API's answer to the last old answer (0: none after the answer). */
  propagationMs: number
  oldAnswers: number
  /** The colo and Cache-Status of the last old answer. */
  last?: string
}

async function measure(
  ctx: BenchContext,
  workerUrl: string,
  round: number,
  batch: number
): Promise<Sample[]> {
  const groups = Array.from({ length: BATCH }, (_, i) => {
    const group = `purge-bench-${round}-${batch}-${i}`
    const tag = `${group}-tag`
    const query = `h-cache-control=${encodeURIComponent('public, max-age=3600')}&h-surrogate-key=${tag}`
    return { group, tag, path: `/echo/${group}/item?${query}`, kind: KINDS[i % KINDS.length]! }
  })
  // Fill: every colo holds the entry (memory/L1), every region's L2 too.
  const old = new Map<string, Set<string>>()
  for (const { path } of groups) {
    const bodies = new Set<string>()
    for (const colo of COLOS) bodies.add((await get(`${workerUrl}${path}`, colo)).body)
    old.set(path, bodies)
  }
  await sleep(300) // fills reach L2 in the background
  for (const { path } of groups) {
    for (const colo of COLOS) {
      const answer = await get(`${workerUrl}${path}`, colo)
      if (!/; hit;/.test(answer.cacheStatus)) throw new Error(`${path} not cached at ${colo}`)
      old.get(path)!.add(answer.body)
    }
  }
  // Older than the coalescer's recent-fill window (memory.maxAgeMs): only the tiers hold them.
  await sleep(1100)
  const samples: Sample[] = []
  for (const { group, tag, path, kind } of groups) {
    const body =
      kind === 'tag'
        ? { tags: [tag] }
        : kind === 'url'
          ? { urls: [path] }
          : { prefixes: [`/echo/${group}/`] }
    const sent = performance.now()
    const response = await requestPurge(workerUrl, ctx.adminToken, body)
    await response.arrayBuffer()
    const answered = performance.now()
    if (response.status !== 200) throw new Error(`purge answered ${response.status}`)
    const bodies = old.get(path)!
    let lastOld = answered
    let oldAnswers = 0
    let last: string | undefined
    await Promise.all(
      COLOS.map(async (colo) => {
        let fresh = 0
        const deadline = answered + 5000
        while (fresh < 3 && performance.now() < deadline) {
          const answer = await get(`${workerUrl}${path}`, colo)
          if (bodies.has(answer.body)) {
            fresh = 0
            oldAnswers++
            if (performance.now() > lastOld) last = `${colo} ${answer.cacheStatus}`
            lastOld = Math.max(lastOld, performance.now())
          } else fresh++
        }
      })
    )
    samples.push({
      kind,
      apiMs: answered - sent,
      propagationMs: lastOld - answered,
      oldAnswers,
      last,
    })
  }
  return samples
}

export const purge: Scenario = {
  name: 'purge',
  description: 'purge propagation to every region and every colo (tag, URL, prefix purges)',
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const regions = await ctx.step('start regions', 60_000, () => startRegions({ latencyScale: 1 }))
    ctx.defer(() => regions.stop())
    const l2Vars = { L2_REGIONS: regions.l2RegionsJson, SIMULATION: '1' }
    const worker = await startTarget(ctx, EDGE_CACHE, l2Vars)
    ctx.origin.state.setLatency(20)
    ctx.defer(() => ctx.origin.state.setLatency(200))
    const noFeed = await withoutFeed()
    ctx.defer(noFeed.remove)
    const unfed = await startTarget(ctx, noFeed.target, l2Vars)
    // Side by side: the same regions, the same load, the feed on and off, in turn per round.
    const costs: Cost[] = []
    for (let round = 0; round < ctx.settings.rounds; round++) {
      for (const [url, label] of [
        [worker.url, 'feed'],
        [unfed.url, 'no feed'],
      ] as const) {
        costs.push(
          await ctx.step(`cost, ${label}, round ${round}`, 60_000, () =>
            measureCost(ctx, regions, url, `${label} ${round}`)
          )
        )
      }
    }
    const samples: Sample[] = []
    for (let round = 0; round < ctx.settings.rounds; round++) {
      for (let batch = 0; batch < PURGES_PER_ROUND / BATCH; batch++) {
        samples.push(
          ...(await ctx.step(`round ${round} batch ${batch}`, 120_000, () =>
            measure(ctx, worker.url, round, batch)
          ))
        )
      }
    }
    const stats = (values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b)
      return {
        n: sorted.length,
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        max: sorted.at(-1) ?? 0,
      }
    }
    const rows = [
      { what: 'propagation, all purges', ...stats(samples.map((s) => s.propagationMs)) },
      ...KINDS.map((kind) => ({
        what: `propagation, by ${kind}`,
        ...stats(samples.filter((s) => s.kind === kind).map((s) => s.propagationMs)),
      })),
      { what: 'purge API answer (LHR)', ...stats(samples.map((s) => s.apiMs)) },
    ]
    const all = rows[0]!
    const failures: string[] = []
    if (all.p99 > 250)
      failures.push(`purge propagation p99 ${all.p99.toFixed(0)} ms (goal ≤ 250 ms)`)
    const fmt = (value: number) => value.toFixed(1)
    const costRows = (['feed', 'no feed'] as const).map((label) => {
      const mine = costs.filter((cost) => cost.label.startsWith(`${label} `))
      const sum = (pick: (cost: Cost) => number) => mine.reduce((a, cost) => a + pick(cost), 0)
      const perRequest = sum((c) => c.commands) / sum((c) => c.requests)
      return {
        what: label === 'feed' ? 'purge feed (default)' : 'no feed: isolates read the logs',
        rps: sum((c) => c.requests) / sum((c) => c.seconds),
        commandsPerSecond: sum((c) => c.commands) / sum((c) => c.seconds),
        per1000: perRequest * 1000,
        usdPerMillion: perRequest * 1_000_000 * UPSTASH_USD_PER_COMMAND,
        perPurge: sum((c) => c.purgeCommands) / sum((c) => c.purges),
      }
    })
    const [fed, unfedRow] = costRows
    const costTable = {
      title: 'Purge cost: Upstash commands while six colos serve hits, and per purge',
      columns: [
        { key: 'what', label: 'set-up' },
        { key: 'rps', label: 'hits/s', format: (v: number) => v.toFixed(0) },
        { key: 'commandsPerSecond', label: 'commands/s', format: (v: number) => v.toFixed(1) },
        { key: 'per1000', label: 'commands per 1000 hits', format: (v: number) => v.toFixed(1) },
        {
          key: 'usdPerMillion',
          label: 'US$ per million hits',
          format: (v: number) => v.toFixed(3),
        },
        { key: 'perPurge', label: 'commands per purge', format: (v: number) => v.toFixed(1) },
      ],
      rows: costRows,
    }
    return {
      title: 'Purge propagation (three simulated regions, real latency matrix, six colos)',
      tables: [costTable],
      columns: [
        { key: 'what', label: 'measurement' },
        { key: 'n', label: 'purges' },
        { key: 'p50', label: 'p50 ms', format: fmt },
        { key: 'p99', label: 'p99 ms', format: fmt },
        { key: 'max', label: 'max ms', format: fmt },
      ],
      rows,
      notes: [
        `${samples.length} purges; after each answer, ${COLOS.join('/')} read the entry in closed loops until each saw new content 3 times in a row; propagation = the last old answer after the API's answer (goal p99 ≤ 250 ms).`,
        `Slowest: ${[...samples]
          .sort((a, b) => b.propagationMs - a.propagationMs)
          .slice(0, 3)
          .map((s) => `${s.propagationMs.toFixed(0)} ms (${s.kind}, last old answer ${s.last})`)
          .join('; ')}.`,
        `Old answers seen after the API answered: ${samples.reduce((sum, s) => sum + s.oldAnswers, 0)} in total (each colo's view learns the purge from its nearest region's feed object, read every purge.pollIntervalMs = 100 ms; the purging colo knows at once).`,
        `Cost: ${ctx.settings.rounds} × ${COST_PHASE_MS / 1000} s per set-up, every colo reading one cached entry in a closed loop (all hits: L2 is only touched by purge polling and health probes), then ${COST_PURGES} tag purges; commands = REST requests to the three regions; at US$${(UPSTASH_USD_PER_COMMAND * 100_000).toFixed(2)} per 100,000 commands (Upstash pay-as-you-go). Commands/s with the feed ${fed!.commandsPerSecond.toFixed(1)} vs ${unfedRow!.commandsPerSecond.toFixed(1)} without (${(unfedRow!.commandsPerSecond / Math.max(fed!.commandsPerSecond, 1e-9)).toFixed(1)}×). With the feed, isolates make one Durable Object request per poll instead (not an Upstash command).`,
      ],
      failures,
      data: { samples },
    }
  },
}
