import type { Config } from '../config/load-config'
import type { RouteConfig } from '../config/schema'
import type { Validators } from '../http/conditional'

/**
 * The caller's policy for this fill: its route and the settings a fill reads. The object applies it on
 * top of its own bindings (the origin URL and L2 regions always come from those), so a Worker and its
 * Coalescer agree even while a deploy rolls out, and tests can vary the policy per request.
 */
export interface FillPolicy {
  readonly route: RouteConfig
  readonly origin: Config['origin']
  readonly limits: Config['limits']
  readonly heuristic: Config['heuristic']
  readonly negativeCache: Config['negativeCache']
  readonly retainStaleSeconds: number
}

export function fillPolicy(config: Config, route: RouteConfig): FillPolicy {
  const { origin, limits, heuristic, negativeCache, retainStaleSeconds } = config
  // The compiled matcher is not sent: the object compiles the pattern again.
  const { matcher: _matcher, ...plain } = route as RouteConfig & { matcher?: RegExp }
  return { route: plain, origin, limits, heuristic, negativeCache, retainStaleSeconds }
}

/** One miss or refresh sent to the Coalescer object of its key's shard. */
export interface FillRequest {
  /** What makes two requests share one origin fetch: the primary key and all the origin sees of the request. */
  readonly key: string
  readonly primary: string
  readonly path: string
  readonly query: string
  /** The client's request headers (storability and variant selection read them). */
  readonly headers: ReadonlyArray<readonly [string, string]>
  /** The client's home L2 region: re-checked before the origin, filled after it. */
  readonly home: string | undefined
  /** The stale copy's validators: the origin fetch is conditional. */
  readonly validators?: Validators
  /** A refresh: an L2 copy stored at or before this instant is not new enough. */
  readonly newerThan?: number
  /** When the caller found no usable copy: a fill finished since then may serve it. */
  readonly missedAt: number
  readonly policy: FillPolicy
}

/** Why the leader's fetch gave no entry: a deadline, an unreachable origin, an open breaker, a 5xx. */
export type FillFailure = 'timeout' | 'error' | 'circuit-open' | 'status'

/** The result of one fill, shared by every waiter. */
export type FillResult =
  | {
      readonly kind: 'entry'
      /** The entry codec's bytes. */
      readonly bytes: Uint8Array
      /** `origin`, or the L2 tier that already had a new enough copy (`L2/eu-west`). */
      readonly source: string
      readonly fwdStatus: number
    }
  | {
      readonly kind: 'not-modified'
      readonly headers: ReadonlyArray<readonly [string, string]>
      readonly requestTime: number
      readonly responseTime: number
    }
  | { readonly kind: 'failed'; readonly reason: FillFailure; readonly status?: number }
  /** Not storable (private, too large...) or not coalesced (busy): every waiter fetches for itself. */
  | { readonly kind: 'uncacheable'; readonly reason: string }

/** What one waiter gets: the shared result, and whether its own request caused the fetch. */
export type FillAnswer =
  | (FillResult & { readonly leader: boolean })
  /** The leader's own response when it must not be shared (private, too large, a 5xx): streamed. */
  | {
      readonly kind: 'response'
      readonly leader: true
      readonly reason: string
      readonly status: number
      readonly headers: ReadonlyArray<readonly [string, string]>
      readonly body: ReadableStream<Uint8Array> | null
    }
