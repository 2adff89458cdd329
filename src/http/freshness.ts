import type { CacheControl } from './cache-control'
import { parseDeltaSeconds } from './cache-control'

/** RFC 9110 §5.6.7 HTTP-date (IMF-fixdate and the two obsolete forms Date.parse understands); ms or undefined. */
export function parseHttpDate(value: string | null | undefined): number | undefined {
  if (!value) return undefined
  const ms = Date.parse(value)
  return Number.isNaN(ms) ? undefined : ms
}

/** Status codes that are heuristically cacheable (RFC 9110 §15.1). */
const HEURISTICALLY_CACHEABLE = new Set([
  200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501,
])

export function isHeuristicallyCacheable(status: number): boolean {
  return HEURISTICALLY_CACHEABLE.has(status)
}

export type FreshnessSource = 's-maxage' | 'max-age' | 'expires' | 'heuristic' | 'none'

export interface Freshness {
  readonly seconds: number
  readonly source: FreshnessSource
}

export interface HeuristicPolicy {
  readonly fraction: number
  readonly maxSeconds: number
}

/**
 * RFC 9111 §4.2.1 freshness lifetime for a shared cache: s-maxage, then max-age, then Expires − Date,
 * then (§4.2.2) a fraction of the time since Last-Modified for heuristically cacheable statuses.
 */
export function freshnessLifetime(
  status: number,
  headers: Headers,
  cc: CacheControl,
  heuristic: HeuristicPolicy,
  responseTime: number
): Freshness {
  if (cc.sMaxAge !== undefined) return { seconds: cc.sMaxAge, source: 's-maxage' }
  if (cc.maxAge !== undefined) return { seconds: cc.maxAge, source: 'max-age' }
  const expiresHeader = headers.get('expires')
  if (expiresHeader !== null) {
    // An invalid Expires (e.g. "0") means already expired (RFC 9111 §5.3).
    const expires = parseHttpDate(expiresHeader)
    if (expires === undefined) return { seconds: 0, source: 'expires' }
    const date = parseHttpDate(headers.get('date')) ?? responseTime
    return { seconds: Math.max(0, Math.floor((expires - date) / 1000)), source: 'expires' }
  }
  const lastModified = parseHttpDate(headers.get('last-modified'))
  if (lastModified !== undefined && (isHeuristicallyCacheable(status) || cc.public)) {
    const date = parseHttpDate(headers.get('date')) ?? responseTime
    const sinceModified = Math.max(0, (date - lastModified) / 1000)
    return {
      seconds: Math.min(heuristic.maxSeconds, Math.floor(sinceModified * heuristic.fraction)),
      source: 'heuristic',
    }
  }
  return { seconds: 0, source: 'none' }
}

/**
 * RFC 9111 §4.2.3 corrected_initial_age in seconds: the age the response already had when it reached us,
 * from its Age header, its Date, and how long the exchange took.
 */
export function correctedInitialAge(
  headers: Headers,
  requestTime: number,
  responseTime: number
): number {
  const ageValue = parseDeltaSeconds(headers.get('age')?.trim()) ?? 0
  const date = parseHttpDate(headers.get('date'))
  const apparentAge = date === undefined ? 0 : Math.max(0, (responseTime - date) / 1000)
  const responseDelay = Math.max(0, (responseTime - requestTime) / 1000)
  const correctedAgeValue = ageValue + responseDelay
  return Math.floor(Math.max(apparentAge, correctedAgeValue))
}

/** RFC 9111 §4.2.3 current_age: corrected initial age plus the time the copy has been resident here. */
export function currentAge(initialAgeSec: number, storedAt: number, now: number): number {
  return initialAgeSec + Math.max(0, Math.floor((now - storedAt) / 1000))
}
