import type { TierStack } from '../cache/tier-stack'
import type { Config } from '../config/load-config'

/** What a request handler needs from the Worker: config, tiers and background work. */
export interface ProxyContext {
  readonly config: Config
  /** memory → L1 (→ L2 when it lands): read nearest first, written and purged everywhere. */
  readonly tiers: TierStack
  waitUntil(promise: Promise<unknown>): void
}
