/**
 * RFC 9211 Cache-Status. One member per cache; ours is prepended to whatever the origin's caches said.
 * Our `detail` names the tier that answered (L1, L2, origin) and why a stale copy was used.
 */
export type ForwardReason =
  'bypass' | 'method' | 'uri-miss' | 'vary-miss' | 'miss' | 'request' | 'stale'

export type CacheStatus =
  | { readonly hit: true; readonly ttl: number; readonly detail?: string }
  | {
      readonly fwd: ForwardReason
      readonly fwdStatus?: number
      readonly stored?: boolean
      readonly ttl?: number
      readonly collapsed?: boolean
      /**
       * An extension parameter (RFC 9211 §2): the requests per minute an `adaptiveTtl` route scaled
       * this stored copy's freshness by (`ttl` is the scaled one).
       */
      readonly popularity?: number
      readonly detail?: string
    }

// RFC 8941 §3.3.4 token: otherwise the detail is sent as a quoted string.
const TOKEN = /^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*$/

function detailParam(detail: string): string {
  return TOKEN.test(detail) ? detail : `"${detail.replace(/[\\"]/g, '\\$&')}"`
}

export function formatCacheStatus(cacheName: string, status: CacheStatus): string {
  let out = cacheName
  if ('hit' in status) {
    out += `; hit; ttl=${Math.trunc(status.ttl)}`
  } else {
    out += `; fwd=${status.fwd}`
    if (status.fwdStatus !== undefined) out += `; fwd-status=${status.fwdStatus}`
    if (status.ttl !== undefined) out += `; ttl=${Math.trunc(status.ttl)}`
    if (status.stored) out += '; stored'
    if (status.collapsed) out += '; collapsed'
    if (status.popularity !== undefined)
      out += `; popularity=${Math.min(Math.round(status.popularity), 999_999_999_999_999)}`
  }
  if (status.detail) out += `; detail=${detailParam(status.detail)}`
  return out
}

/** Prepends our member to an upstream Cache-Status list (RFC 9211 §2: the first member is nearest the client). */
export function prependCacheStatus(ours: string, upstream: string | null): string {
  return upstream ? `${ours}, ${upstream}` : ours
}
