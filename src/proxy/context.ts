import type { TierStack } from '../cache/tier-stack'
import type { Config } from '../config/load-config'
import type { RequestTiers } from './request-tiers'

/** What a request handler needs from the Worker: config, tiers and background work. */
export interface ProxyContext {
  readonly config: Config
  /** memory → L1 → L2: read nearest first, written and purged everywhere. */
  readonly tiers: TierStack
  /** The client's location and the L2 regions, when L2 is configured. */
  readonly l2: RequestTiers['l2']
  waitUntil(promise: Promise<unknown>): void
}
