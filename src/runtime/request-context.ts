import { createTierStack, type TierStack } from '../cache/tier-stack'
import type { Config } from '../config/load-config'
import { clientLocation, simulatedColoWithoutL2, type ClientLocation } from '../l2/client-location'
import type { RegionalL2 } from '../l2/regional-l2'
import { JOURNAL_DEADLINE_MS, JOURNAL_REGION } from '../purge/journal'
import type { OriginGate } from '../ratelimit/origin-gate'
import type { PurgeScope } from '../purge/scope'
import type { Isolate } from './isolate'

/** What a request handler needs: the isolate's runtime, this request's tiers, and background work. */
export interface RequestContext {
  readonly isolate: Isolate
  readonly config: Config
  /** memory → L1 → L2: read nearest first, written and purged everywhere. */
  readonly tiers: TierStack
  /**
   * This colo's tiers only (memory → L1): where a copy goes that a Coalescer object already wrote to
   * L2, so that a fill is written to L2 once, by its leader, not again by every follower.
   */
  readonly nearTiers: TierStack
  /** Set when L2 is configured: where the client is and the regions behind it. */
  readonly l2: { readonly regional: RegionalL2; readonly location: ClientLocation } | undefined
  /** This colo's view of purges and near tiers, and the client's home region (purges start there). */
  readonly purge: { readonly scope: PurgeScope; readonly home: string | undefined }
  /**
   * Miss-rate limits: asked before this request reaches the origin; set by the rate-limit middleware
   * when such a rule matches it, absent otherwise (and for the cache's own work: warming, refreshes).
   */
  originGate?: OriginGate
  waitUntil(promise: Promise<unknown>): void
}

/**
 * The tiers one request reads and writes: memory → L1 (this colo) → L2 (the client's nearest healthy
 * region). A far hit is copied into the nearer tiers in the background; due L2 probes and purge-log
 * polls are started here too, off the hot path (after the response).
 */
export function requestContext(
  isolate: Isolate,
  request: Request,
  origin: string,
  waitUntil: (work: Promise<unknown>) => void
): RequestContext {
  const { config, l2 } = isolate
  const location = config.l2 && clientLocation(request, config.l2, config.simulation)
  // Simulated colos are bounded by the configured regions (the header must name one).
  const simulated = location
    ? location.simulatedColo
    : simulatedColoWithoutL2(request, config.simulation)
  const colo = isolate.colo(simulated ?? '', origin)
  const stack = colo.memory ? [colo.memory, colo.l1] : [colo.l1]
  const near = stack.length
  if (l2 && location) {
    stack.push(l2.tierFor(location.home))
    const probing = l2.refreshEstimates(location.home)
    if (probing) waitUntil(probing)
  }
  // Purges start in the client's home region; without L2, in the purge journal (if bound).
  const purgeHome = location?.home ?? (isolate.purgeLog ? JOURNAL_REGION : undefined)
  if (purgeHome !== undefined) {
    const polling = colo.purges.poll(purgeHome)
    if (polling) waitUntil(polling)
  }
  const tiers = createTierStack(stack, {
    defer: waitUntil,
    retainStaleMs: config.retainStaleSeconds * 1000,
    // A copy read while the view is catching up waits for its log reads, at most a read deadline.
    guard: colo.purges.guard(near, config.l2?.readDeadlineMs ?? JOURNAL_DEADLINE_MS),
    // While this colo's L1 mostly misses, L2 is read with it (no effect without L2 behind it).
    readAhead: {
      index: near - 1,
      hint: colo.l1Misses,
      spent: (outcome) => isolate.metrics.increment('l2_read_ahead_total', { outcome }),
    },
  })
  let nearTiers: TierStack | undefined
  return {
    isolate,
    config,
    tiers,
    // Built on first use: a hit never writes.
    get nearTiers() {
      return (nearTiers ??=
        stack.length === near
          ? tiers
          : createTierStack(stack.slice(0, near), {
              defer: waitUntil,
              retainStaleMs: config.retainStaleSeconds * 1000,
            }))
    },
    l2: l2 && location && { regional: l2, location },
    purge: { scope: colo.purges, home: purgeHome },
    waitUntil,
  }
}
