import type { Config } from '../config/load-config'
import type { RouteConfig } from '../config/schema'
import type { FillResult } from '../fill/fill-result'
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
  /** RFC 9213 target list: the object must read the same directives as its callers. */
  readonly targetedCacheControl: Config['targetedCacheControl']
}

export function fillPolicy(config: Config, route: RouteConfig): FillPolicy {
  const { origin, limits, heuristic, negativeCache, retainStaleSeconds, targetedCacheControl } =
    config
  // The compiled matcher is not sent: the object compiles the pattern again.
  const { matcher: _matcher, ...plain } = route as RouteConfig & { matcher?: RegExp }
  return {
    route: plain,
    origin,
    limits,
    heuristic,
    negativeCache,
    retainStaleSeconds,
    targetedCacheControl,
  }
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
  /**
   * On an `adaptiveTtl` route: the requests the caller served for the key since it last asked, this
   * one included (hits never reach the object; they are counted into its popularity estimate here).
   */
  readonly hits?: number
  readonly policy: FillPolicy
}

/** What one waiter gets: the fill's result, and whether its own request caused the fetch. */
export type FillAnswer = FillResult & { readonly leader: boolean }
