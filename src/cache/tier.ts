import type { StoredRecord } from './entry'

/**
 * One cache tier (memory, L1 on the Cache API, L2 on Redis): a store of records. Policy (freshness,
 * variants, purges) lives above it; a tier only stores, fetches and forgets.
 */
export interface CacheTier {
  readonly name: string
  get(key: string): Promise<StoredRecord | undefined>
  /** Like get, naming where the record came from when that is finer than `name` (`L2/eu-west`). */
  lookup?(key: string): Promise<TierLookup | undefined>
  /** Stores until `expiresAt` (epoch ms); a record already expired is not stored. */
  set(key: string, record: StoredRecord, expiresAt: number): Promise<void>
  delete(key: string): Promise<boolean>
}

export interface TierLookup {
  readonly record: StoredRecord
  readonly tier: string
}
