import { createCacheApiTier } from '../cache/l1-cache-api'
import { createMemoryTier } from '../cache/memory-tier'
import type { CacheTier } from '../cache/tier'
import { createTierStack, type TierStack } from '../cache/tier-stack'
import type { Config } from '../config/load-config'
import { clientLocation, type ClientLocation } from '../l2/client-location'
import { createRegionalL2, type L2Events, type RegionalL2 } from '../l2/regional-l2'
import { PurgeLog } from '../purge/purge-log'
import { PurgeScope } from '../purge/purge-scope'

/** What an isolate keeps between requests, per Config. Every map is bounded. */
interface IsolateTiers {
  /** Hot tier per (simulated) colo: keys do not include the host (the origin is fixed), so hosts share it. */
  readonly memory: Map<string, CacheTier | undefined>
  /** L1 per (simulated) colo and Worker origin: the Cache API is per zone. */
  readonly l1: Map<string, CacheTier>
  readonly l2: RegionalL2 | undefined
  /** The regions' purge logs (with L2). */
  readonly log: PurgeLog | undefined
  /** Purge view per (simulated) colo and Worker origin, as L1: each colo learns purges on its own. */
  readonly purges: Map<string, PurgeScope>
}

export interface RequestTiers {
  readonly tiers: TierStack
  /** Set when L2 is configured: where the client is and the regions behind it. */
  readonly l2: { readonly regional: RegionalL2; readonly location: ClientLocation } | undefined
}

const MAX_L1 = 16
const isolateTiers = new WeakMap<Config, IsolateTiers>()

function isolateTiersFor(config: Config, events: L2Events | undefined): IsolateTiers {
  let tiers = isolateTiers.get(config)
  if (!tiers) {
    const l2 = config.l2 && createRegionalL2(config.l2, { simulation: config.simulation, events })
    const log = l2 && new PurgeLog(l2, config.l2!.keyPrefix, config.purge)
    tiers = { memory: new Map(), l1: new Map(), l2, log, purges: new Map() }
    isolateTiers.set(config, tiers)
  }
  return tiers
}

function memoryFor(config: Config, tiers: IsolateTiers, colo: string): CacheTier | undefined {
  if (tiers.memory.has(colo)) return tiers.memory.get(colo)
  const { maxEntries, maxBytes, maxAgeMs } = config.memory
  const memory =
    maxEntries > 0 && maxBytes > 0 && maxAgeMs > 0 ? createMemoryTier(config.memory) : undefined
  tiers.memory.set(colo, memory)
  return memory
}

function l1For(config: Config, tiers: IsolateTiers, colo: string, origin: string): CacheTier {
  const id = `${colo} ${origin}`
  let l1 = tiers.l1.get(id)
  if (!l1) {
    if (tiers.l1.size >= MAX_L1) {
      tiers.l1.clear()
      tiers.purges.clear()
    }
    // A simulated colo gets a cache of its own, as a real colo has.
    l1 = createCacheApiTier(colo === '' ? config.cacheName : `${config.cacheName}:${colo}`, origin)
    tiers.l1.set(id, l1)
  }
  return l1
}

/**
 * The tiers one request reads and writes: memory → L1 (this colo) → L2 (the client's nearest healthy
 * region). A far hit is copied into the nearer tiers in the background.
 */
export function requestTiers(
  config: Config,
  request: Request,
  origin: string,
  waitUntil: (work: Promise<unknown>) => void,
  events?: L2Events
): RequestTiers {
  const tiers = isolateTiersFor(config, events)
  const location = config.l2 && clientLocation(request, config.l2, config.simulation)
  // Simulated colos are bounded by the configured regions (the header must name one).
  const colo = location?.simulatedColo ?? ''
  const memory = memoryFor(config, tiers, colo)
  const stack: CacheTier[] = memory ? [memory] : []
  stack.push(l1For(config, tiers, colo, origin))
  const purges = purgeScopeFor(config, tiers, `${colo} ${origin}`, stack)
  if (tiers.l2 && location) {
    stack.push(tiers.l2.tierFor(location.home))
    const probing = tiers.l2.refreshEstimates(location.home)
    if (probing) waitUntil(probing)
    // The purge view is refreshed off the hot path: a due poll runs after the response.
    const polling = purges.poll(location.home)
    if (polling) waitUntil(polling)
  }
  const near = memory ? 2 : 1
  const requestStack = createTierStack(stack, {
    defer: waitUntil,
    retainStaleMs: config.retainStaleSeconds * 1000,
    guard: purges.guard(near),
  })
  scopes.set(requestStack, { scope: purges, home: location?.home })
  return {
    tiers: requestStack,
    l2: tiers.l2 && location && { regional: tiers.l2, location },
  }
}

function purgeScopeFor(
  config: Config,
  tiers: IsolateTiers,
  id: string,
  near: readonly CacheTier[]
): PurgeScope {
  let scope = tiers.purges.get(id)
  if (!scope) {
    scope = new PurgeScope(config.purge, [...near], tiers.log, tiers.l2?.router)
    tiers.purges.set(id, scope)
  }
  return scope
}

const scopes = new WeakMap<TierStack, { scope: PurgeScope; home: string | undefined }>()

/** The purge scope (this colo's view and near tiers) behind a request's tier stack, and its home region. */
export function purgeScopeOf(
  tiers: TierStack
): { scope: PurgeScope; home: string | undefined } | undefined {
  return scopes.get(tiers)
}
