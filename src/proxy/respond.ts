import type { CacheEntry } from '../cache/entry'
import { formatCacheStatus, prependCacheStatus, type CacheStatus } from '../http/cache-status'
import { notModifiedHeaders } from '../http/conditional'
import { currentAge } from '../http/freshness'
import { withoutFields } from '../http/headers'

const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304])

/** Remaining freshness in seconds (negative once stale), as RFC 9211 `ttl` wants it. */
export function remainingTtl(entry: CacheEntry, now: number): number {
  return Math.floor((entry.freshUntil - now) / 1000)
}

export interface ServeOptions {
  readonly cacheName: string
  readonly method: string
  readonly status: CacheStatus
  readonly now: number
  /** Answer 304 instead of the stored response (a matching conditional request). */
  readonly notModified?: boolean
}

/** The client's response, computed from the entry: stored headers, a current Age and our Cache-Status. */
export function responseFromEntry(entry: CacheEntry, options: ServeOptions): Response {
  const headers = new Headers(entry.headers as Array<[string, string]>)
  headers.set('age', String(currentAge(entry.initialAgeSec, entry.storedAt, options.now)))
  const cacheStatus = prependCacheStatus(
    formatCacheStatus(options.cacheName, options.status),
    headers.get('cache-status')
  )
  if (options.notModified) {
    const out = notModifiedHeaders(headers)
    out.set('age', headers.get('age')!)
    out.set('cache-status', cacheStatus)
    return new Response(null, { status: 304, headers: out })
  }
  headers.set('cache-status', cacheStatus)
  const noBody = options.method === 'HEAD' || NULL_BODY_STATUS.has(entry.status)
  if (noBody && !NULL_BODY_STATUS.has(entry.status)) {
    headers.set('content-length', String(entry.body.byteLength))
  }
  return new Response(noBody ? null : entry.body, { status: entry.status, headers })
}

/** Fields of an origin response we never pass on to clients (our tags, hop-by-hop fields). */
const INTERNAL_FIELDS: ReadonlySet<string> = new Set([
  'surrogate-key',
  'cache-tag',
  'surrogate-control',
])

/** An origin response passed on as it is (not from the cache), with our Cache-Status prepended. */
export function forwardResponse(
  response: Response,
  cacheName: string,
  status: CacheStatus,
  method: string,
  body: BodyInit | null = response.body
): Response {
  const headers = withoutFields(response.headers, INTERNAL_FIELDS)
  headers.set(
    'cache-status',
    prependCacheStatus(formatCacheStatus(cacheName, status), response.headers.get('cache-status'))
  )
  const noBody = method === 'HEAD' || NULL_BODY_STATUS.has(response.status)
  if (noBody && body instanceof ReadableStream) void body.cancel().catch(() => {})
  return new Response(noBody ? null : body, { status: response.status, headers })
}
