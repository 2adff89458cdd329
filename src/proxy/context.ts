import type { CacheTier } from '../cache/tier'
import type { Config } from '../config/load-config'

/** What a request handler needs from the Worker: config, tiers and background work. */
export interface ProxyContext {
  readonly config: Config
  readonly l1: CacheTier
  waitUntil(promise: Promise<unknown>): void
}
