import type { CacheEntry } from '../cache/entry'

/** Why a fill gave no answer: a deadline, an unreachable origin, an open breaker, a 5xx (followers). */
export type FillFailure = 'timeout' | 'error' | 'circuit-open' | 'status'

/**
 * What one fill gave, however it was made: the Worker's own origin fetch (`fetchForCache`) or a
 * Coalescer object's, which sends the same type over its protocol. One function turns it into the
 * client's response (`respondToFill` in src/proxy/cache-handler.ts).
 */
export type FillResult =
  /** A storable answer: from the origin (`source: 'origin'`) or a tier that had a new enough copy. */
  | {
      readonly kind: 'entry'
      readonly entry: CacheEntry
      /** `origin`, or the L2 tier that already had a new enough copy (`L2/eu-west`). */
      readonly source: string
      readonly fwdStatus: number
      /** On an `adaptiveTtl` route: the key's requests per minute its freshness was scaled by. */
      readonly perMinute?: number
    }
  /** The stale copy's validators still hold: a 304's fields and the exchange's times. */
  | {
      readonly kind: 'not-modified'
      readonly headers: ReadonlyArray<readonly [string, string]>
      readonly requestTime: number
      readonly responseTime: number
      /** The key's requests per minute where the fill was made: the new lifetime is scaled by it. */
      readonly perMinute?: number
    }
  /** An answer that must not be stored (private, too large, a 5xx...): for its requester only, streamed. */
  | {
      readonly kind: 'response'
      readonly reason: string
      readonly status: number
      readonly headers: ReadonlyArray<readonly [string, string]>
      readonly body: ReadableStream<Uint8Array> | null
    }
  | { readonly kind: 'failed'; readonly reason: FillFailure; readonly status?: number }
  /** Not shared by the Coalescer (not storable, or it is busy): the requester fetches for itself. */
  | { readonly kind: 'uncacheable'; readonly reason: string }
