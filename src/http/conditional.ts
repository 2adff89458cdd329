import { parseHttpDate } from './freshness'

/** Splits an If-None-Match / If-Match list into entity tags; `*` stays as '*'. */
export function parseEntityTags(value: string): string[] {
  // Element by element: empty elements are ignored (RFC 9110 §5.6.1.2), malformed ones name nothing.
  const tags: string[] = []
  for (const element of value.match(/(?:[^,"]|"[^"]*")+/g) ?? []) {
    const tag = element.trim()
    if (/^(?:\*|(?:W\/)?"[^"]*")$/.test(tag)) tags.push(tag)
  }
  return tags
}

function opaque(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag
}

/** RFC 9110 §8.8.3.2 weak comparison. */
export function weakMatch(a: string, b: string): boolean {
  return opaque(a) === opaque(b)
}

export interface Validators {
  readonly etag: string | undefined
  readonly lastModified: string | undefined
}

/**
 * What a cache knows of a stored response beyond its validators: without Last-Modified, its Date (or
 * else the time it was received) is its modification time for If-Modified-Since (RFC 9111 §4.3.2,
 * RFC 9110 §13.1.3).
 */
export interface StoredDates {
  readonly headers?: ReadonlyArray<readonly [string, string]>
  readonly storedAt?: number
}

/**
 * RFC 9110 §13.2.2 for GET/HEAD against a stored copy: If-None-Match wins over If-Modified-Since.
 * True when the client's copy is current and a 304 should be sent.
 */
export function isNotModified(request: Headers, stored: Validators & StoredDates): boolean {
  const ifNoneMatch = request.get('if-none-match')
  if (ifNoneMatch !== null) {
    // `*` matches any current representation, and a stored copy is one, ETag or not (RFC 9110 §13.1.2).
    const tags = parseEntityTags(ifNoneMatch)
    return tags.some(
      (tag) => tag === '*' || (stored.etag !== undefined && weakMatch(tag, stored.etag))
    )
  }
  const ifModifiedSince = request.get('if-modified-since')
  if (ifModifiedSince === null) return false
  const since = parseHttpDate(ifModifiedSince)
  if (since === undefined) return false
  const modified =
    stored.lastModified !== undefined
      ? parseHttpDate(stored.lastModified)
      : modifiedWithoutLastModified(stored)
  return modified !== undefined && modified <= since
}

/** RFC 9111 §4.3.2: the stored Date, else the time the copy was received; nothing for bare validators. */
function modifiedWithoutLastModified(stored: StoredDates): number | undefined {
  if (stored.headers === undefined) return undefined
  const date = stored.headers.find(([name]) => name === 'date')
  return (date && parseHttpDate(date[1])) ?? stored.storedAt
}

/**
 * Whether a request's preconditions turn the stored response into a 304. RFC 9110 §13.2.1: they are
 * evaluated only when the response without them would be a 2xx; a stored 404 or 500 is not a
 * selected representation, so `If-None-Match: *` does not match it and it is sent as it is.
 */
export function answersNotModified(
  request: Headers,
  stored: Validators & StoredDates & { readonly status: number }
): boolean {
  return stored.status >= 200 && stored.status < 300 && isNotModified(request, stored)
}

/** RFC 9110 §15.4.5: the fields a 304 carries from the 200 it stands for. */
const NOT_MODIFIED_FIELDS = [
  'cache-control',
  'content-location',
  'date',
  'etag',
  'expires',
  'vary',
  'last-modified',
]

export function notModifiedHeaders(full: Headers): Headers {
  const out = new Headers()
  for (const name of NOT_MODIFIED_FIELDS) {
    const value = full.get(name)
    if (value !== null) out.set(name, value)
  }
  return out
}

/** Conditional request headers to revalidate a stored copy with the origin (RFC 9111 §4.3.1). */
export function revalidationHeaders(stored: Validators): Record<string, string> {
  const out: Record<string, string> = {}
  if (stored.etag !== undefined) out['if-none-match'] = stored.etag
  if (stored.lastModified !== undefined) out['if-modified-since'] = stored.lastModified
  return out
}

/**
 * Fields a 304 must not overwrite in the stored response (RFC 9111 §3.2): Content-Length, and the
 * fields the stored body depends on (its coding and, for a stored 206, its range). Content-Type is
 * not among them: a 304 that carries one updates it like any other field.
 */
const KEEP_ON_UPDATE = new Set(['content-length', 'content-encoding', 'content-range'])

/** RFC 9111 §4.3.4: the stored headers updated with those of a 304 that validated them. */
export function mergeNotModified(
  stored: ReadonlyArray<readonly [string, string]>,
  notModified: Headers
): Array<[string, string]> {
  const replaced = new Set<string>()
  for (const [name] of notModified) if (!KEEP_ON_UPDATE.has(name)) replaced.add(name)
  const merged: Array<[string, string]> = stored
    .filter(([name]) => !replaced.has(name))
    .map(([name, value]) => [name, value])
  for (const [name, value] of notModified) if (replaced.has(name)) merged.push([name, value])
  return merged
}
