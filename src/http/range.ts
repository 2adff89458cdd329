import { parseHttpDate } from './freshness'

/**
 * Byte ranges served from a stored complete response (RFC 9110 §14, RFC 9111 §3.3–3.4). The stored
 * copy is always the whole representation (a 206 is never stored), so any single range is cut from it.
 * Only the `bytes` unit and a single range-spec are honoured: any other unit, an invalid header and a
 * set of several ranges are ignored, which RFC 9110 §14.2 allows ("A server MAY ignore the Range
 * header field"), and the whole 200 is sent. Parsing stops at the second range-spec, so a hostile
 * list (`bytes=0-0,1-1,...`) costs no more than a scan of the field.
 */

/** One parsed byte range-spec: `first-[last]` or the suffix form `-length`. */
export type RangeSpec =
  { readonly first: number; readonly last: number | undefined } | { readonly suffix: number }

/** What a Range request gets instead of the whole 200 (undefined elsewhere: the whole 200). */
export type RangeAnswer =
  /** 206 with these bytes (inclusive positions, within the body). */
  | { readonly kind: 'partial'; readonly first: number; readonly last: number }
  /** 416, with a Content-Range that names only the complete length. */
  | { readonly kind: 'unsatisfiable' }

/** The stored response a range is cut from (a CacheEntry fits). */
export interface RangeSource {
  readonly status: number
  readonly body: { readonly byteLength: number }
  readonly headers: ReadonlyArray<readonly [string, string]>
  readonly etag: string | undefined
  readonly lastModified: string | undefined
}

const INT_RANGE = /^(\d+)-(\d*)$/
const SUFFIX_RANGE = /^-(\d+)$/

/**
 * Parses a Range field value (RFC 9110 §14.1.1, §14.2): the one byte range-spec it names, `multiple`
 * for a set of more than one, undefined when it is not `bytes` or not valid (both are ignored).
 * Numbers too large for exact arithmetic stay huge, which is all the comparisons need.
 */
export function parseRange(value: string): RangeSpec | 'multiple' | undefined {
  const equals = value.indexOf('=')
  // Range units are case-insensitive (RFC 9110 §14.1); the grammar has no whitespace around "=".
  if (equals < 0 || value.slice(0, equals).toLowerCase() !== 'bytes') return undefined
  let spec: string | undefined
  let start = equals + 1
  while (start <= value.length) {
    const comma = value.indexOf(',', start)
    const end = comma < 0 ? value.length : comma
    // A list element with optional whitespace around it; empty elements are skipped (RFC 9110 §5.6.1.2).
    const element = trimOws(value, start, end)
    if (element !== '') {
      if (spec !== undefined) return 'multiple'
      spec = element
    }
    start = end + 1
  }
  if (spec === undefined) return undefined
  const int = INT_RANGE.exec(spec)
  if (int) {
    const first = Number(int[1])
    const last = int[2] === '' ? undefined : Number(int[2])
    // "A range-spec is invalid if the last-pos value is present and less than the first-pos" (§14.1.1).
    if (last !== undefined && last < first) return undefined
    return { first, last }
  }
  const suffix = SUFFIX_RANGE.exec(spec)
  return suffix ? { suffix: Number(suffix[1]) } : undefined
}

/** value[start, end) without leading and trailing SP / HTAB (a loop: no regex backtracking on long runs). */
function trimOws(value: string, start: number, end: number): string {
  const ows = (at: number) => value[at] === ' ' || value[at] === '\t'
  while (start < end && ows(start)) start++
  while (end > start && ows(end - 1)) end--
  return value.slice(start, end)
}

/**
 * The bytes a range-spec selects from a representation of `length` bytes (RFC 9110 §14.1.1–14.1.2):
 * a last-pos beyond the end is clamped, a suffix longer than the body takes all of it; a first-pos at
 * or past the end and `-0` are unsatisfiable. An empty body has no partial answer: it is sent whole.
 */
export function selectRange(spec: RangeSpec, length: number): RangeAnswer | undefined {
  if ('suffix' in spec) {
    if (spec.suffix === 0) return { kind: 'unsatisfiable' }
    if (length === 0) return undefined
    return { kind: 'partial', first: Math.max(0, length - spec.suffix), last: length - 1 }
  }
  if (spec.first >= length) return { kind: 'unsatisfiable' }
  return { kind: 'partial', first: spec.first, last: Math.min(spec.last ?? Infinity, length - 1) }
}

/**
 * RFC 9110 §13.1.5: whether If-Range lets the range be served. An entity tag must match the stored
 * ETag strongly (a weak tag on either side never matches); an HTTP-date must equal the stored
 * Last-Modified, and only when that is a strong validator (§8.8.2.2: the stored Date is at least one
 * second after it).
 */
export function ifRangeHolds(ifRange: string, stored: RangeSource): boolean {
  const value = trimOws(ifRange, 0, ifRange.length)
  // "examining the first three characters for a DQUOTE" tells an entity-tag from a date.
  if (value.slice(0, 3).includes('"')) {
    const etag = stored.etag
    return value.startsWith('"') && etag !== undefined && etag.startsWith('"') && value === etag
  }
  const since = parseHttpDate(value)
  const modified = parseHttpDate(stored.lastModified)
  if (since === undefined || modified === undefined || since !== modified) return false
  const date = parseHttpDate(stored.headers.find(([name]) => name === 'date')?.[1])
  return date !== undefined && date - modified >= 1000
}

/**
 * What a request's Range field asks of a stored response, or undefined for the whole response: only a
 * GET (RFC 9110 §14.2: HEAD and other methods ignore Range) of a stored 200 with a valid single byte
 * range whose If-Range, if any, holds. Without a Range field it costs one header lookup.
 */
export function rangeFor(
  method: string,
  request: Headers,
  stored: RangeSource
): RangeAnswer | undefined {
  if (method !== 'GET') return undefined
  const range = request.get('range')
  if (range === null || stored.status !== 200) return undefined
  const spec = parseRange(range)
  if (spec === undefined || spec === 'multiple') return undefined
  const ifRange = request.get('if-range')
  if (ifRange !== null && !ifRangeHolds(ifRange, stored)) return undefined
  return selectRange(spec, stored.body.byteLength)
}
