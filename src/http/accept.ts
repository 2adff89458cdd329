/**
 * Canonical forms of the Accept-* request fields that select variants (RFC 9111 §4.1: a cache may
 * normalise selecting header values before it compares them). Both take a value already through the
 * generic whitespace normalisation of cache-key.ts (`normalizeHeaderValue`): trimmed, runs of SP/HTAB
 * folded to one space, none around commas.
 */

/** RFC 9110 §12.4.2 qvalue: 0 to 1 with at most three decimals. */
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/

/** One list member as `range` plus its weight; undefined weight: no `;q=`, `NaN`: a malformed one. */
function splitMember(member: string): { range: string; q: number | undefined } {
  const compact = member.toLowerCase().replace(/ ?([;=]) ?/g, '$1')
  const at = compact.indexOf(';q=')
  if (at === -1) return { range: compact, q: compact.includes(';') ? NaN : undefined }
  const range = compact.slice(0, at)
  const weight = compact.slice(at + 3)
  if (range.includes(';') || !QVALUE.test(weight)) return { range: compact, q: NaN }
  return { range, q: Number(weight) }
}

/**
 * The content codings this cache tells apart. Any other coding a client names cannot be asked of the
 * origin on its behalf, so it is left out of the canonical form (the origin then answers in one of
 * these or in identity, which every client takes).
 */
export const KNOWN_CODINGS = ['br', 'deflate', 'gzip', 'zstd'] as const

/**
 * Accept-Encoding as the sorted set of known codings the client accepts with q>0 (`br,gzip`), or
 * `identity` when it accepts none of them (an empty field value included, RFC 9110 §12.5.3). `*`
 * stands for every coding the field does not name; `x-gzip` is gzip (RFC 9110 §8.4.1.3); members
 * with a malformed weight or parameters name nothing.
 */
export function canonicalAcceptEncoding(value: string): string {
  const weights = new Map<string, number>()
  let star: number | undefined
  for (const member of value.split(',')) {
    const { range, q } = splitMember(member.trim())
    if (range === '' || Number.isNaN(q)) continue
    const weight = q ?? 1
    if (range === '*') star ??= weight
    else {
      const coding = range === 'x-gzip' ? 'gzip' : range
      if (!weights.has(coding)) weights.set(coding, weight)
    }
  }
  const accepted = KNOWN_CODINGS.filter((coding) => (weights.get(coding) ?? star ?? 0) > 0)
  return accepted.length === 0 ? 'identity' : accepted.join(',')
}

/**
 * Accept-Language with case and member order ignored: members lower-cased, whitespace around `;`
 * and `=` removed, weights written as numbers (`q=0.80` is `q=0.8`, `q=1` is dropped), duplicates
 * and empty members removed, then sorted and comma-joined. Malformed members are kept as they are
 * (lower-cased), so two different fields never meet. Member order is a preference only between
 * equal weights, and the brief for variant keys is to ignore it.
 */
export function canonicalAcceptLanguage(value: string): string {
  const members = new Set<string>()
  for (const member of value.split(',')) {
    const { range, q } = splitMember(member.trim())
    if (range === '') continue
    members.add(q === undefined || q === 1 || Number.isNaN(q) ? range : `${range};q=${q}`)
  }
  return [...members].sort().join(',')
}
