/** The Workers a scenario can put under load: ours and the baselines of DESIGN.md §6. */
import { unstable_readConfig } from 'wrangler'
import { startWranglerDev } from '../../tools/lib/wrangler-dev'
import type { BenchContext } from './types'

export interface WorkerTarget {
  id: string
  label: string
  /** wrangler config, relative to the repo root. */
  configPath: string
  /** Probed until the Worker answers; one that does not reach the origin where there is one. */
  readyPath?: string
  /** Our Worker: it gets ADMIN_TOKEN and answers with `Cache-Status`. */
  ours: boolean
  /** For ours: the `detail=` a primed hit must name (the tier under test). */
  hitDetail?: string
  /** Extra `--var` bindings. */
  vars?: () => Record<string, string>
  /** The Worker's entry in place of the config's `main`, relative to the repo root. */
  script?: string
}

export const MINIMAL: WorkerTarget = {
  id: 'minimal',
  label: 'minimal Worker',
  configPath: 'bench/workers/minimal.wrangler.toml',
  ours: false,
}

export const HONO_CACHE: WorkerTarget = {
  id: 'hono-cache',
  label: 'hono/cache',
  configPath: 'bench/workers/hono-cache.wrangler.toml',
  ours: false,
}

export const EDGE_CACHE: WorkerTarget = {
  id: 'edge-api-cache',
  label: 'ours: memory + L1 (default)',
  configPath: 'wrangler.toml',
  readyPath: '/_cache/health',
  ours: true,
  hitDetail: 'memory',
}

/** wrangler.toml's own CACHE_CONFIG, changed by `patch`, as a `--var CACHE_CONFIG:<json>` binding. */
export function patchedCacheConfig(
  patch: (config: Record<string, unknown>) => void
): Record<string, string> {
  const config = unstable_readConfig({ config: 'wrangler.toml' })
  const cacheConfig = structuredClone(config.vars.CACHE_CONFIG) as Record<string, unknown>
  patch(cacheConfig)
  return { CACHE_CONFIG: JSON.stringify(cacheConfig) }
}

/** The memory tier off: every hit reads the Cache API. */
function l1OnlyConfig(): Record<string, string> {
  return patchedCacheConfig((config) => {
    config.memory = { maxEntries: 0 }
  })
}

export const EDGE_CACHE_L1: WorkerTarget = {
  id: 'edge-api-cache-l1',
  label: 'ours: L1 only',
  configPath: 'wrangler.toml',
  readyPath: '/_cache/health',
  ours: true,
  hitDetail: 'L1',
  vars: l1OnlyConfig,
}

/** Ours with two loop routes (bench/workers/hit-loop-worker.ts): the hit path timed in-isolate. */
export const EDGE_CACHE_LOOP: WorkerTarget = {
  id: 'edge-api-cache-loop',
  label: 'ours: in-isolate loop',
  configPath: 'wrangler.toml',
  readyPath: '/_cache/health',
  ours: true,
  hitDetail: 'memory',
  script: 'bench/workers/hit-loop-worker.ts',
}

/** Not a cache: a constant response, the most `wrangler dev` serves here (a reference row). */
export const STATIC: WorkerTarget = {
  id: 'static',
  label: 'static Worker (ceiling)',
  configPath: 'bench/workers/static.wrangler.toml',
  ours: false,
}

export interface RunningTarget {
  target: WorkerTarget
  url: string
  /** Process group of its `wrangler dev` (wrangler and both workerd). */
  pgid: number
}

/** Starts a target under `wrangler dev` against the bench's demo origin; stopped with the scenario. */
export async function startTarget(
  ctx: BenchContext,
  target: WorkerTarget,
  vars: Record<string, string> = {}
): Promise<RunningTarget> {
  const worker = await ctx.step(`start ${target.label}`, 120_000, () =>
    startWranglerDev({
      name: target.id,
      configPath: target.configPath,
      readyPath: target.readyPath,
      quiet: ctx.settings.quiet,
      script: target.script,
      vars: {
        ORIGIN_URL: ctx.origin.url,
        ...(target.ours ? { ADMIN_TOKEN: ctx.adminToken } : {}),
        ...target.vars?.(),
        ...vars,
      },
    })
  )
  ctx.defer(() => worker.stop())
  return { target, url: worker.url, pgid: worker.process.pid }
}
