/**
 * Small HTTP helpers for the demo origin: validators and conditional requests (RFC 9110 §8.8, §13).
 * Web APIs only, so the origin runs unchanged in Node and inside a Worker test.
 */

/** FNV-1a over UTF-16 code units: cheap, synchronous, stable; good enough for an entity tag. */
export function fnv1a(text: string): string {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return (hash >>> 0).toString(16).padStart(8, '0')
}

/** A strong entity tag derived from the exact body sent, so any content change changes it. */
export function strongETag(body: string): string {
  return `"${body.length.toString(16)}-${fnv1a(body)}"`
}

/** IMF-fixdate (RFC 9110 §5.6.7); second precision, like every HTTP date. */
export function httpDate(ms: number): string {
  return new Date(ms).toUTCString()
}

/** The opaque tags of an If-None-Match list, or `*`. Malformed members are skipped. */
export function parseETagList(header: string): '*' | string[] {
  if (header.trim() === '*') return '*'
  const tags: string[] = []
  for (const match of header.matchAll(/(?:W\/)?("[^"]*")/g)) tags.push(match[1]!)
  return tags
}

/** RFC 9110 §13.1.2: If-None-Match uses the weak comparison (W/ prefixes are ignored). */
export function noneMatchHits(header: string, etag: string): boolean {
  const tags = parseETagList(header)
  if (tags === '*') return true
  const opaque = etag.replace(/^W\//, '')
  return tags.includes(opaque)
}

/**
 * RFC 9110 §13.2.2 evaluation order for GET/HEAD: If-None-Match wins; If-Modified-Since is only
 * looked at when If-None-Match is absent. Returns true when a 304 should be sent.
 */
export function isNotModified(
  headers: Headers,
  validators: { etag?: string | null; lastModified?: string | null }
): boolean {
  const ifNoneMatch = headers.get('if-none-match')
  if (ifNoneMatch !== null)
    return validators.etag ? noneMatchHits(ifNoneMatch, validators.etag) : false
  const ifModifiedSince = headers.get('if-modified-since')
  if (ifModifiedSince === null || !validators.lastModified) return false
  const since = Date.parse(ifModifiedSince)
  const modified = Date.parse(validators.lastModified)
  if (Number.isNaN(since) || Number.isNaN(modified)) return false
  return modified <= since
}

const SUPPORTED_LANGUAGES = ['en', 'de', 'fr'] as const
export type Language = (typeof SUPPORTED_LANGUAGES)[number]

/** Picks en/de/fr from Accept-Language by q-value (RFC 9110 §12.5.4); defaults to en. */
export function negotiateLanguage(header: string | null): Language {
  if (!header) return 'en'
  const ranges = header
    .split(',')
    .map((part, index) => {
      const [range = '', ...params] = part.trim().split(';')
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='))
      const weight = q ? Number(q.slice(2)) : 1
      return {
        range: range.trim().toLowerCase(),
        weight: Number.isFinite(weight) ? weight : 0,
        index,
      }
    })
    .filter((r) => r.range && r.weight > 0)
    .sort((a, b) => b.weight - a.weight || a.index - b.index)
  for (const { range } of ranges) {
    if (range === '*') return 'en'
    const primary = range.split('-')[0]
    const found = SUPPORTED_LANGUAGES.find((lang) => lang === primary)
    if (found) return found
  }
  return 'en'
}

/** Statuses whose responses must not carry a body (RFC 9110 §6.4.1, §15.3.5, §15.4.5). */
export function isNullBodyStatus(status: number): boolean {
  return status === 204 || status === 205 || status === 304 || (status >= 100 && status < 200)
}
