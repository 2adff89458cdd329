import type { CacheControl } from './cache-control'
import { parseDeltaSeconds } from './cache-control'

const MONTHS: Record<string, number> = {
  jan: 0,
  feb: 1,
  mar: 2,
  apr: 3,
  may: 4,
  jun: 5,
  jul: 6,
  aug: 7,
  sep: 8,
  oct: 9,
  nov: 10,
  dec: 11,
}
// RFC 9110 §5.6.7: IMF-fixdate, then the obsolete RFC 850 and asctime forms. Nothing else is a date.
// Names are matched case-insensitively (recipients ought to be lenient there, as Apache's
// apr_date_parse_http is); the weekday is not checked against the date (a wrong one is harmless).
const IMF_FIXDATE =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) ([A-Z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/i
const RFC_850 =
  /^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d{2})-([A-Z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/i
const ASCTIME =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([A-Z]{3}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/i

function utc(
  year: number,
  month: string,
  day: number,
  h: string,
  m: string,
  s: string
): number | undefined {
  const monthIndex = MONTHS[month.toLowerCase()]
  if (monthIndex === undefined || day < 1 || day > 31 || +h > 23 || +m > 59 || +s > 60)
    return undefined
  const date = new Date(Date.UTC(2000, monthIndex, day, +h, +m, +s))
  date.setUTCFullYear(year) // keeps years below 100 literal (Date.UTC maps them to 19xx)
  // 31 Feb and friends roll over into the next month: not a date.
  return date.getUTCDate() === day ? date.getTime() : undefined
}

/**
 * An RFC 9110 §5.6.7 HTTP-date in ms, or undefined (recipients must treat others as invalid): strict
 * on the three formats, lenient only on the case of names.
 */
export function parseHttpDate(value: string | null | undefined): number | undefined {
  if (!value) return undefined
  const text = value.trim()
  let m = IMF_FIXDATE.exec(text)
  if (m) return utc(+m[3]!, m[2]!, +m[1]!, m[4]!, m[5]!, m[6]!)
  m = RFC_850.exec(text)
  if (m) {
    // Two-digit years: RFC 9110 §5.6.7 says a year more than 50 years ahead is in the past century.
    const now = new Date().getUTCFullYear()
    let year = Math.floor(now / 100) * 100 + +m[3]!
    if (year > now + 50) year -= 100
    return utc(year, m[2]!, +m[1]!, m[4]!, m[5]!, m[6]!)
  }
  m = ASCTIME.exec(text)
  if (m) return utc(+m[6]!, m[1]!, +m[2]!.trim(), m[3]!, m[4]!, m[5]!)
  return undefined
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
 * RFC 9111 §4.2.1 freshness lifetime for a shared cache: s-maxage, then max-age, then Expires − Date
 * (unless the directives came from an RFC 9213 targeted field), then (§4.2.2) a fraction of the time since Last-Modified for heuristically cacheable statuses.
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
  // A targeted field (RFC 9213 §2.2) replaces Expires along with Cache-Control.
  const expiresHeader = cc.targeted === undefined ? headers.get('expires') : null
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
  // A list-valued Age (repeated field): use the first value (RFC 9111 §5.1).
  const ageValue = parseDeltaSeconds(headers.get('age')?.split(',')[0]?.trim()) ?? 0
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
