import { BoundedMemo } from '../lib/bounded-memo'
import type { OriginFetchReason, Outcome, StaleReason, Tier } from './catalogue'

/** What one response says about how it was answered, read back from its headers. */
export interface RequestOutcome {
  readonly outcome: Outcome
  readonly tier: Tier
  /** Set when a stale copy was served. */
  readonly stale?: StaleReason
  /** Set when this request itself went to the origin (a collapsed follower did not). */
  readonly originFetch?: OriginFetchReason
  /** Waited on another request's origin fetch (RFC 9211 `collapsed`). */
  readonly collapsed: boolean
  /** The L2 region that answered (`detail=L2/eu-west`). */
  readonly region?: string
}

const PASS_REASONS: ReadonlySet<string> = new Set(['bypass', 'method', 'request'])
const ORIGIN_FAILURES: ReadonlySet<string> = new Set(['origin-timeout', 'origin-error'])

/** `memory`, `L1`, `L2/eu-west` (a region), or a name this build does not know. */
function parseTier(source: string): { tier: Tier; region?: string } {
  if (source === 'memory' || source === 'L1') return { tier: source }
  if (source === 'L2') return { tier: 'L2' }
  if (source.startsWith('L2/')) return { tier: 'L2', region: source.slice(3) }
  return { tier: 'other' }
}

function unquote(value: string): string {
  return value.startsWith('"') && value.endsWith('"') && value.length >= 2
    ? value.slice(1, -1).replace(/\\(.)/g, '$1')
    : value
}

/**
 * Classifies a response by our member of its RFC 9211 `Cache-Status` (the first one, named
 * `cacheName`): `hit` with `detail=<tier>` or `detail="<tier> stale-while-revalidate"`, or
 * `fwd=<reason>` with `fwd-status`, `collapsed` and `detail` (`stale-if-error`, `origin-timeout`...).
 * A 429 is the rate limiter's. Remembered by field value (most requests repeat one).
 */
export function classifyResponse(
  status: number,
  cacheStatus: string | null,
  cacheName: string
): RequestOutcome {
  if (cacheStatus === null) return classify(status, cacheStatus, cacheName)
  const key = `${status} ${cacheName}\n${cacheStatus}`
  return classified.get(key) ?? classified.remember(key, classify(status, cacheStatus, cacheName))
}

/**
 * Outcomes by status and Cache-Status: a hot copy's answers repeat one field value for a second at
 * a time (its ttl counts down), so most requests skip the parse. 512 values of up to 512 characters.
 */
const classified = new BoundedMemo<RequestOutcome>(512, 512)

function classify(status: number, cacheStatus: string | null, cacheName: string): RequestOutcome {
  if (status === 429) return { outcome: 'rate_limited', tier: 'edge', collapsed: false }
  const member = cacheStatus?.split(',', 1)[0]
  const params = member?.split(';')
  if (!params || params[0]!.trim() !== cacheName) {
    return { outcome: status >= 500 ? 'error' : 'pass', tier: 'edge', collapsed: false }
  }
  let hit = false
  let fwd: string | undefined
  let fwdStatus: string | undefined
  let collapsed = false
  let detail = ''
  for (let i = 1; i < params.length; i++) {
    const param = params[i]!.trim()
    const eq = param.indexOf('=')
    const name = eq === -1 ? param : param.slice(0, eq)
    const value = eq === -1 ? '' : param.slice(eq + 1)
    if (name === 'hit') hit = true
    else if (name === 'fwd') fwd = value
    else if (name === 'fwd-status') fwdStatus = value
    else if (name === 'collapsed') collapsed = true
    else if (name === 'detail') detail = unquote(value)
  }
  if (hit) {
    const space = detail.indexOf(' ')
    const { tier, region } = parseTier(space === -1 ? detail : detail.slice(0, space))
    const swr = space !== -1 && detail.slice(space + 1) === 'stale-while-revalidate'
    return swr
      ? { outcome: 'stale', tier, stale: 'swr', collapsed: false, region }
      : { outcome: 'hit', tier, collapsed: false, region }
  }
  if (fwd === undefined) return { outcome: 'pass', tier: 'edge', collapsed: false }
  const reason: OriginFetchReason = PASS_REASONS.has(fwd)
    ? 'pass'
    : fwd === 'stale'
      ? 'revalidate'
      : 'miss'
  const originFetch = collapsed ? undefined : reason
  if (detail === 'stale-if-error') {
    return { outcome: 'stale', tier: 'origin', stale: 'sie', originFetch, collapsed }
  }
  if (ORIGIN_FAILURES.has(detail))
    return { outcome: 'error', tier: 'origin', originFetch, collapsed }
  if (reason === 'pass') return { outcome: 'pass', tier: 'origin', originFetch, collapsed }
  if (fwd === 'stale' && fwdStatus === '304') {
    return { outcome: 'revalidated', tier: 'origin', originFetch, collapsed }
  }
  return { outcome: 'miss', tier: 'origin', originFetch, collapsed }
}
