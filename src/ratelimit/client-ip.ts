/**
 * A client address as a rate-limit identity. One IPv4 address is one identity, but one IPv6 host
 * usually holds a whole /64 (RFC 4291 §2.5.1 interface identifiers, RFC 8981 temporary addresses), so
 * IPv6 counts per prefix: every spelling of every address in it gives the same canonical string.
 */

/** Longest value kept from an address that does not parse (any valid spelling is shorter). */
export const MAX_UNPARSED_LENGTH = 64

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/
const HEX_GROUP = /^[0-9a-f]{1,4}$/i

function parseIpv4(text: string): number[] | undefined {
  const match = IPV4.exec(text)
  if (!match) return undefined
  const octets = match.slice(1).map(Number)
  return octets.every((octet) => octet <= 255) ? octets : undefined
}

function parseGroups(text: string): number[] | undefined {
  if (text === '') return []
  const groups: number[] = []
  for (const group of text.split(':')) {
    if (!HEX_GROUP.test(group)) return undefined
    groups.push(parseInt(group, 16))
  }
  return groups
}

/** The eight 16-bit groups of an IPv6 address (RFC 4291 §2.2 text forms), or undefined. */
export function parseIpv6(text: string): number[] | undefined {
  let rest = text
  // An embedded IPv4 address (`::ffff:192.0.2.1`) stands for the last two groups.
  let tail: number[] = []
  const lastColon = rest.lastIndexOf(':')
  if (lastColon >= 0 && rest.includes('.', lastColon)) {
    const octets = parseIpv4(rest.slice(lastColon + 1))
    if (!octets) return undefined
    tail = [(octets[0]! << 8) | octets[1]!, (octets[2]! << 8) | octets[3]!]
    // Keep the colon: `::1.2.3.4` leaves `::`, `a:b::c:1.2.3.4` leaves `a:b::c:` (trimmed below).
    rest = rest.slice(0, lastColon + 1)
    if (!rest.endsWith('::')) rest = rest.slice(0, -1)
  }
  const halves = rest.split('::')
  if (halves.length > 2) return undefined
  const head = parseGroups(halves[0]!)
  const back = halves.length === 2 ? parseGroups(halves[1]!) : []
  if (!head || !back) return undefined
  const given = head.length + back.length + tail.length
  if (halves.length === 2 ? given > 7 : given !== 8) return undefined
  return [...head, ...new Array<number>(8 - given).fill(0), ...back, ...tail]
}

/** RFC 5952 §4: lower case, no leading zeros, the longest run (2+) of zero groups as `::`, first on ties. */
export function formatIpv6(groups: readonly number[]): string {
  let bestStart = -1
  let bestLength = 1
  for (let start = 0; start < 8;) {
    let end = start
    while (end < 8 && groups[end] === 0) end++
    if (end - start > bestLength) {
      bestStart = start
      bestLength = end - start
    }
    start = end === start ? start + 1 : end
  }
  const hex = groups.map((group) => group.toString(16))
  if (bestStart < 0) return hex.join(':')
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`
}

function maskGroups(groups: readonly number[], prefix: number): number[] {
  return groups.map((group, i) => {
    const bits = Math.min(16, Math.max(0, prefix - i * 16))
    return group & ((0xffff << (16 - bits)) & 0xffff)
  })
}

const isIpv4Mapped = (groups: readonly number[]) =>
  groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff

/**
 * The canonical identity of `CF-Connecting-IP`: an IPv4 address as itself; an IPv6 address masked to
 * its first `ipv6Prefix` bits (brackets and a zone id dropped); an IPv4-mapped IPv6 address
 * (`::ffff:a.b.c.d`) as its IPv4 address. A value that is neither is kept as it came, cut to
 * MAX_UNPARSED_LENGTH characters; absent is ''.
 */
export function clientAddress(text: string | null | undefined, ipv6Prefix: number): string {
  if (text === null || text === undefined) return ''
  const ipv4 = parseIpv4(text)
  if (ipv4) return ipv4.join('.')
  const unbracketed = /^\[(.*)\]$/.exec(text)?.[1] ?? text
  const zone = unbracketed.indexOf('%')
  const groups = parseIpv6(zone >= 0 ? unbracketed.slice(0, zone) : unbracketed)
  if (!groups) return text.slice(0, MAX_UNPARSED_LENGTH)
  if (isIpv4Mapped(groups)) {
    return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.')
  }
  return formatIpv6(maskGroups(groups, ipv6Prefix))
}
