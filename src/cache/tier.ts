import type { ReadRecord, StoredRecord } from './entry'

/**
 * One cache tier (memory, L1 on the Cache API, L2 on Redis): a store of records. Policy (freshness,
 * variants, purges) lives above it; a tier only stores, fetches and forgets.
 */
export interface CacheTier {
  readonly name: string
  /** The record with its body in memory. */
  get(key: string): Promise<StoredRecord | undefined>
  /**
   * Like get, for reads that serve a client (the tier stack prefers it): it may name where the record
   * came from when that is finer than `name` (`L2/eu-west`), and leave a body in the tier until it is
   * used (L1: the Cache API's stream, sent on without a copy in JS).
   */
  lookup?(key: string): Promise<TierLookup | undefined>
  /** Stores until `expiresAt` (epoch ms); a record already expired is not stored. */
  set(key: string, record: StoredRecord, expiresAt: number): Promise<void>
  /**
   * How long a copy from a farther tier's hit waits before it is written here (0: at once): a tier
   * whose writes take the Worker's own time is written once the answer has gone out.
   */
  readonly copyDelayMs?: number
  delete(key: string): Promise<boolean>
}

export interface TierLookup<R extends ReadRecord = ReadRecord> {
  readonly record: R
  readonly tier: string
}
