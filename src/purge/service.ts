import { primaryKeyForUrl } from '../cache/invalidate'
import type { RequestContext } from '../runtime/request-context'
import type { RegionOutcome } from './log'

/** What an admin purge names: any mix of URLs, keys, tags and key prefixes. */
export interface PurgeOrder {
  readonly urls?: readonly string[]
  readonly keys?: readonly string[]
  readonly tags?: readonly string[]
  readonly prefixes?: readonly string[]
  readonly soft: boolean
}

export interface PurgeReport {
  readonly id: string
  readonly at: number
  readonly soft: boolean
  readonly boundMs: number
  readonly scope: string
  readonly regions: { readonly recorded: string[]; readonly missed: RegionOutcome[] }
  /** How many of the URLs this colo held a copy of (the purge itself reaches every copy). */
  readonly purged: number
  readonly results: ReadonlyArray<{
    url: string
    key: string | null
    cacheable: boolean
    deleted: boolean
  }>
  readonly status: string
  /** Recorded in at least one log (always, without one): the others catch up from it. */
  readonly durable: boolean
}

/**
 * Purges what `order` names: here at once (this colo's memory and L1), then in every reachable
 * region's log and L2. URLs are resolved against `base` (their host is ignored: the origin is
 * fixed). Soft purges' L2 rewrites go to `waitUntil`.
 */
export async function purge(
  context: RequestContext,
  order: PurgeOrder,
  base: string
): Promise<PurgeReport> {
  const { config, purge: purging } = context
  const results = (order.urls ?? []).map((value) => {
    const key = primaryKeyForUrl(new URL(value, base), config)
    return { url: value, key: key ?? null, cacheable: key !== undefined }
  })
  const urlKeys = results.flatMap((result) => (result.key === null ? [] : [result.key]))
  const keys = [...new Set([...urlKeys, ...(order.keys ?? [])])]
  const held = await Promise.all(
    results.map((result) => (result.key === null ? false : purging.scope.holds(result.key)))
  )
  const { record, outcomes, pending } = await purging.scope.publish(
    { keys, tags: order.tags ?? [], prefixes: order.prefixes ?? [], soft: order.soft },
    purging.home
  )
  context.waitUntil(pending)
  const recorded = outcomes.filter((outcome) => outcome.ok).map((outcome) => outcome.region)
  const missed = outcomes.filter((outcome) => !outcome.ok)
  return {
    id: record.id,
    at: record.at,
    soft: record.soft,
    boundMs: config.purge.boundMs,
    scope: reachedScope(config.l2 !== undefined, purging.scope.log !== undefined, recorded.length),
    regions: { recorded, missed },
    purged: held.filter(Boolean).length,
    results: results.map((result, i) => ({ ...result, deleted: held[i]! })),
    status: `/_cache/purge/${record.id}`,
    durable: purging.scope.log === undefined || recorded.length > 0,
  }
}

/** What a purge reached, in words (the API's `scope`): exactly the tiers it is known to reach. */
function reachedScope(l2: boolean, logged: boolean, recorded: number): string {
  if (l2 && recorded > 0)
    return 'every region (L2 and log) and every colo (memory and L1) within boundMs'
  if (logged && recorded > 0)
    return 'every colo (memory and L1) within boundMs, through the purge journal (no L2)'
  if (logged)
    return 'memory (this isolate) and L1 (this colo) only: no log answered; replayed into it later'
  return 'memory (this isolate) and L1 (this colo)'
}

/** Where a purge stands: applied in every region, or per region; undefined when nobody knows it. */
export async function purgeStatus(
  context: RequestContext,
  id: string
): Promise<{ applied: boolean; regions: Record<string, boolean | undefined> } | undefined> {
  const { scope, home } = context.purge
  const log = scope.log
  if (log === undefined || home === undefined) {
    return scope.view.has(id) ? { applied: true, regions: {} } : undefined
  }
  const regions = await log.status(home, id)
  const values = Object.values(regions)
  if (values.every((value) => value !== true) && !scope.view.has(id)) return undefined
  return { applied: values.every((value) => value === true), regions }
}
