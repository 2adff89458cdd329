import type { RouteConfig } from '../config/schema'
import type { CacheControl } from '../http/cache-control'

export type AdaptiveTtl = NonNullable<RouteConfig['adaptiveTtl']>

/**
 * Whether the origin leaves a cache room to keep its answer fresh past the lifetime it gave. Not
 * under must-revalidate or proxy-revalidate (RFC 9111 §5.2.2.2, §5.2.2.8), nor s-maxage, which
 * carries proxy-revalidate for a shared cache (§5.2.2.10), nor no-cache in any form (§5.2.2.4: the
 * strictest reading of a field-scoped no-cache counts).
 */
export function mayLengthen(cc: CacheControl): boolean {
  return !(
    cc.noCache ||
    cc.noCacheFields.length > 0 ||
    cc.mustRevalidate ||
    cc.proxyRevalidate ||
    cc.sMaxAge !== undefined
  )
}

/**
 * How hot a key is, from 0 (at or below `coldPerMinute`) to 1 (at or above `hotPerMinute`), on a
 * log scale of its request rate: popularity spans orders of magnitude (a Zipf tail), freshness
 * should not swing with every small change in it.
 */
export function heat(perMinute: number, options: AdaptiveTtl): number {
  if (!(perMinute > options.coldPerMinute)) return 0
  if (perMinute >= options.hotPerMinute) return 1
  return (
    Math.log(perMinute / options.coldPerMinute) /
    Math.log(options.hotPerMinute / options.coldPerMinute)
  )
}

/**
 * A copy's freshness lifetime in seconds for a key requested `perMinute` times a minute: from
 * `floorShare` of `baseSeconds` for a cold key up to `ceilingSeconds` for a hot one, linear in its
 * heat. It lengthens only where `lengthen` (the origin's directives allow it) and never past the
 * ceiling; a lifetime already past the ceiling is kept for hot keys, never cut to it. Shortening is
 * always allowed (a cache may treat a copy as stale sooner, RFC 9111 §4.2).
 */
export function adaptLifetime(
  baseSeconds: number,
  perMinute: number,
  options: AdaptiveTtl,
  lengthen: boolean
): number {
  const base = Math.max(0, baseSeconds)
  const floor = base * options.floorShare
  const top = lengthen ? Math.max(base, options.ceilingSeconds) : base
  return floor + (top - floor) * heat(perMinute, options)
}
