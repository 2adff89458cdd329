import { hasBytes, type EntryHead, type ReadEntry } from '../cache/entry'
import { consumedTargetedField } from '../http/cache-control'
import { formatCacheStatus, prependCacheStatus, type CacheStatus } from '../http/cache-status'
import { notModifiedHeaders } from '../http/conditional'
import { currentAge } from '../http/freshness'
import type { RangeAnswer } from '../http/range'
import { withoutFields } from '../http/headers'

const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304])

/** Remaining freshness in seconds (negative once stale), as RFC 9211 `ttl` wants it. */
export function remainingTtl(entry: Pick<EntryHead, 'freshUntil'>, now: number): number {
  return Math.floor((entry.freshUntil - now) / 1000)
}

export interface ServeOptions {
  readonly cacheName: string
  readonly method: string
  readonly status: CacheStatus
  readonly now: number
  /** Answer 304 instead of the stored response (a matching conditional request). */
  readonly notModified?: boolean
  /** RFC 9213 target list: the stored targeted field this cache used is not sent to clients. */
  readonly targeted?: readonly string[]
  /** A Range request's answer (206 or 416) instead of the stored 200; a 304 takes precedence. */
  readonly range?: RangeAnswer
}

/**
 * The client's response, computed from the entry: stored headers, a current Age and our Cache-Status.
 * A body still in its tier (an L1 hit) streams from it untouched; a range waits for its bytes.
 */
export function responseFromEntry(
  entry: ReadEntry,
  options: ServeOptions
): Response | Promise<Response> {
  if (!options.notModified && !options.range && !namesAny(entry.headers, options.targeted)) {
    return plainAnswer(entry, options)
  }
  const headers = new Headers(entry.headers as Array<[string, string]>)
  // Kept in the stored copy (a 304 recomputes the directives from it), never passed on.
  const consumed = options.targeted && consumedTargetedField(headers, options.targeted)
  if (consumed) headers.delete(consumed)
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
  // A stored 200 is the complete representation: any single byte range can be cut from it.
  if (entry.status === 200) headers.set('accept-ranges', 'bytes')
  const length = entry.body.byteLength
  const range = options.range
  if (range?.kind === 'unsatisfiable') return unsatisfiable(length, headers)
  if (range) {
    if (hasBytes(entry)) return partial(entry.body, headers, range.first, range.last)
    return entry.body.bytes().then((bytes) => partial(bytes, headers, range.first, range.last))
  }
  // The stored body's length on GET and HEAD alike (a HEAD gets the GET's, RFC 9110 §8.6): set in the
  // fields, not left to the runtime, so every answer from the cache carries it.
  if (!NULL_BODY_STATUS.has(entry.status)) headers.set('content-length', String(length))
  return wholeAnswer(entry, headers, options.method)
}

/** The stored response with `headers`: its body on a GET, none on a HEAD or a null-body status. */
function wholeAnswer(
  entry: ReadEntry,
  headers: Headers,
  method: string
): Response | Promise<Response> {
  const init = { status: entry.status, headers, encodeBody: 'manual' } as const
  if (method === 'HEAD' || NULL_BODY_STATUS.has(entry.status)) return new Response(null, init)
  // The stored bytes are the origin's, already in its Content-Encoding: sent as they are, not re-coded.
  const body = hasBytes(entry) ? entry.body : entry.body.take()
  return body instanceof Promise
    ? body.then((bytes) => new Response(bytes, init))
    : new Response(body, init)
}

/** The fields the answer computes; stored values of them are replaced (Cache-Status: prepended to). */
const COMPUTED_FIELDS = new Set(['age', 'cache-status', 'accept-ranges', 'content-length'])

function namesAny(fields: EntryHead['headers'], names: readonly string[] | undefined): boolean {
  if (names === undefined || names.length === 0) return false
  for (const [name] of fields) if (names.includes(name)) return true
  return false
}

/**
 * The usual hit (the whole stored response, no targeted field to drop): the same fields as the
 * general path, from the copy's fixed fields (fixedFieldsOf) plus Age and Cache-Status.
 */
function plainAnswer(entry: ReadEntry, options: ServeOptions): Response | Promise<Response> {
  let fixed = fixedFields.get(entry.headers)
  if (fixed?.status !== entry.status || fixed.length !== entry.body.byteLength) {
    fixed = fixedFieldsOf(entry)
    fixedFields.set(entry.headers, fixed)
  }
  const age = String(currentAge(entry.initialAgeSec, entry.storedAt, options.now))
  const cacheStatus = prependCacheStatus(
    formatCacheStatus(options.cacheName, options.status),
    fixed.upstream
  )
  // The Response copies the fixed fields once; the two per-answer fields go on its own copy.
  const finish = (response: Response) => {
    response.headers.set('age', age)
    response.headers.set('cache-status', cacheStatus)
    return response
  }
  const answer = wholeAnswer(entry, fixed.headers, options.method)
  return answer instanceof Promise ? answer.then(finish) : finish(answer)
}

interface FixedFields {
  /** What they were computed for (a field list is shared by every copy decoded from one head). */
  readonly status: number
  readonly length: number
  readonly headers: Headers
  readonly upstream: string | null
}

/**
 * The fields of a stored copy that are the same on every answer, by its (immutable) field list: a
 * hot copy's answer copies a ready Headers object and sets Age and Cache-Status, rather than
 * handing the runtime every field again (about a quarter of a memory hit's samples in a CPU profile).
 */
const fixedFields = new WeakMap<EntryHead['headers'], FixedFields>()

function fixedFieldsOf(entry: ReadEntry): FixedFields {
  const out: Array<[string, string]> = []
  let upstream: string | undefined
  const whole = entry.status === 200
  const nullBody = NULL_BODY_STATUS.has(entry.status)
  for (const field of entry.headers) {
    const name = field[0]
    if (!COMPUTED_FIELDS.has(name)) out.push(field as [string, string])
    else if (name === 'cache-status')
      upstream = upstream === undefined ? field[1] : `${upstream}, ${field[1]}`
    else if ((name === 'accept-ranges' && !whole) || (name === 'content-length' && nullBody)) {
      out.push(field as [string, string])
    }
  }
  if (whole) out.push(['accept-ranges', 'bytes'])
  if (!nullBody) out.push(['content-length', String(entry.body.byteLength)])
  return {
    status: entry.status,
    length: entry.body.byteLength,
    headers: new Headers(out),
    upstream: upstream ?? null,
  }
}

/**
 * RFC 9110 §15.5.17: a 416 carries only the complete length (without the 200's lifetime, so no cache
 * downstream keeps it for the URL).
 */
function unsatisfiable(length: number, headers: Headers): Response {
  const out = new Headers({
    'content-range': `bytes */${length}`,
    'accept-ranges': 'bytes',
    'cache-status': headers.get('cache-status')!,
  })
  return new Response(null, { status: 416, headers: out })
}

/** RFC 9110 §14.4, §15.3.7: a 206 carries the stored fields, the Content-Range and the part's length. */
function partial(body: Uint8Array, headers: Headers, first: number, last: number): Response {
  headers.set('content-range', `bytes ${first}-${last}/${body.byteLength}`)
  headers.set('content-length', String(last - first + 1))
  // Ranges count the stored (content-coded) bytes; they go out as they are.
  return new Response(body.subarray(first, last + 1), {
    status: 206,
    headers,
    encodeBody: 'manual',
  })
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
  body: BodyInit | null = response.body,
  targeted: readonly string[] = []
): Response {
  const headers = withoutFields(response.headers, INTERNAL_FIELDS)
  // The targeted field addressed to this cache (RFC 9213) stops here; other caches' pass through.
  const consumed = consumedTargetedField(response.headers, targeted)
  if (consumed) headers.delete(consumed)
  headers.set(
    'cache-status',
    prependCacheStatus(formatCacheStatus(cacheName, status), response.headers.get('cache-status'))
  )
  const noBody = method === 'HEAD' || NULL_BODY_STATUS.has(response.status)
  if (noBody && body instanceof ReadableStream) void body.cancel().catch(() => {})
  // fetchOrigin reads the origin's bytes undecoded: they go on as they are, under its Content-Encoding.
  return new Response(noBody ? null : body, {
    status: response.status,
    headers,
    encodeBody: 'manual',
  })
}
