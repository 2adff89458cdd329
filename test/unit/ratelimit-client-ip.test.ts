import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  clientAddress,
  formatIpv6,
  MAX_UNPARSED_LENGTH,
  parseIpv6,
} from '../../src/ratelimit/client-ip'

/** Eight 16-bit groups, zeros common enough that `::` runs show up. */
const groups = fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), {
  minLength: 8,
  maxLength: 8,
})
const prefix = fc.integer({ min: 1, max: 128 })
const isMapped = (g: readonly number[]) => g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff

/** Any RFC 4291 §2.2 spelling of the address: case, leading zeros, `::` on any zero run, an IPv4 tail. */
const spelling = (address: readonly number[]) =>
  fc
    .record({
      upper: fc.boolean(),
      padded: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
      compress: fc.nat(),
      ipv4Tail: fc.boolean(),
      bracketed: fc.boolean(),
      zone: fc.option(fc.stringMatching(/^[a-z0-9]{1,8}$/), { nil: undefined }),
    })
    .map(({ upper, padded, compress, ipv4Tail, bracketed, zone }) => {
      const hex = address.map((g, i) => {
        const digits = g.toString(16).padStart(padded[i]! ? 4 : 1, '0')
        return upper ? digits.toUpperCase() : digits
      })
      const tail = ipv4Tail
        ? [`${address[6]! >> 8}.${address[6]! & 0xff}.${address[7]! >> 8}.${address[7]! & 0xff}`]
        : hex.slice(6)
      const parts = [...hex.slice(0, 6), ...tail]
      // Every run of zero parts (among the hex ones) may be the one written `::`.
      const runs: Array<[number, number]> = []
      for (let i = 0; i < parts.length; i++) {
        if (!/^0+$/.test(parts[i]!)) continue
        let end = i
        while (end < parts.length && /^0+$/.test(parts[end]!)) end++
        for (let s = i; s < end; s++) for (let e = s + 1; e <= end; e++) runs.push([s, e])
        i = end
      }
      let text = parts.join(':')
      if (runs.length > 0 && compress % (runs.length + 1) !== 0) {
        const [s, e] = runs[(compress % (runs.length + 1)) - 1]!
        text = `${parts.slice(0, s).join(':')}::${parts.slice(e).join(':')}`
      }
      if (zone !== undefined) text = `${text}%${zone}`
      return bracketed ? `[${text}]` : text
    })

const addressAndSpelling = groups.chain((address) =>
  fc.tuple(fc.constant(address), spelling(address), spelling(address))
)

/** b with its first n bits taken from a. */
function shareBits(a: readonly number[], b: readonly number[], n: number): number[] {
  return b.map((g, i) => {
    const bits = Math.min(16, Math.max(0, n - i * 16))
    const mask = (0xffff << (16 - bits)) & 0xffff
    return (a[i]! & mask) | (g & ~mask & 0xffff)
  })
}

describe('client address (rate-limit identity)', () => {
  it('buckets IPv6 by prefix and keeps IPv4 exact', () => {
    expect(clientAddress('2001:db8:1:2:3:4:5:6', 64)).toBe('2001:db8:1:2::')
    expect(clientAddress('2001:0DB8:0001:0002:ffff::9', 64)).toBe('2001:db8:1:2::')
    expect(clientAddress('[2001:db8:1:2::7]', 64)).toBe('2001:db8:1:2::')
    expect(clientAddress('fe80::1%eth0', 64)).toBe('fe80::')
    expect(clientAddress('2001:db8:1:3::1', 64)).toBe('2001:db8:1:3::')
    expect(clientAddress('2001:db8:1:2:3:4:5:6', 128)).toBe('2001:db8:1:2:3:4:5:6')
    expect(clientAddress('2001:db8:0:0:1:0:0:1', 128)).toBe('2001:db8::1:0:0:1')
    expect(clientAddress('2001:db8:ab:cd::1', 56)).toBe('2001:db8:ab::')
    expect(clientAddress('203.0.113.7', 64)).toBe('203.0.113.7')
    expect(clientAddress('::ffff:203.0.113.7', 64)).toBe('203.0.113.7')
    expect(clientAddress('::FFFF:cb00:7107', 128)).toBe('203.0.113.7')
    expect(clientAddress('::1', 128)).toBe('::1')
    expect(clientAddress('::', 64)).toBe('::')
  })

  it('keeps what does not parse as it came, bounded; absent is empty', () => {
    for (const bad of ['not-an-ip', '1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', '1.2.3.256', ':1'])
      expect(clientAddress(bad, 64)).toBe(bad)
    expect(clientAddress('x'.repeat(10_000), 64)).toBe('x'.repeat(MAX_UNPARSED_LENGTH))
    expect(clientAddress(null, 64)).toBe('')
    fc.assert(
      fc.property(fc.string({ maxLength: 500 }), prefix, (text, n) => {
        expect(clientAddress(text, n).length).toBeLessThanOrEqual(MAX_UNPARSED_LENGTH)
      })
    )
  })

  it('parses every spelling fast-check knows, IPv4 tails included', () => {
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        const parsed = parseIpv6(text)
        expect(parsed).toHaveLength(8)
        expect(parseIpv6(formatIpv6(parsed!))).toEqual(parsed)
      })
    )
  })

  it('property: the canonical form is idempotent', () => {
    const anything = fc.oneof(
      addressAndSpelling.map(([, text]) => text),
      fc.ipV6(),
      fc.ipV4(),
      fc.ipV4().map((ip) => `::ffff:${ip}`),
      fc.string({ maxLength: 100 })
    )
    fc.assert(
      fc.property(anything, prefix, (text, n) => {
        const once = clientAddress(text, n)
        expect(clientAddress(once, n)).toBe(once)
      })
    )
  })

  it('property: every spelling of an address gives one identity', () => {
    fc.assert(
      fc.property(addressAndSpelling, prefix, ([address, a, b], n) => {
        expect(clientAddress(a, n)).toBe(clientAddress(b, n))
        expect(clientAddress(a, n)).toBe(clientAddress(formatIpv6(address), n))
      })
    )
  })

  it('property: addresses sharing their first N bits share a bucket', () => {
    fc.assert(
      fc.property(groups, groups, prefix, (a, other, n) => {
        const b = shareBits(a, other, n)
        fc.pre(!isMapped(a) && !isMapped(b))
        expect(clientAddress(formatIpv6(b), n)).toBe(clientAddress(formatIpv6(a), n))
      })
    )
  })

  it('property: different /64s (different first N bits) are different buckets', () => {
    fc.assert(
      fc.property(groups, groups, (a, b) => {
        fc.pre(a.slice(0, 4).join() !== b.slice(0, 4).join())
        expect(clientAddress(formatIpv6(a), 64)).not.toBe(clientAddress(formatIpv6(b), 64))
      })
    )
    fc.assert(
      fc.property(groups, groups, prefix, (a, other, n) => {
        const b = shareBits(a, other, n)
        const bit = n - 1 // flip the last bit of the prefix: same first N-1 bits, different N-th
        b[bit >> 4] = b[bit >> 4]! ^ (0x8000 >> (bit & 15))
        fc.pre(!isMapped(a) && !isMapped(b))
        expect(clientAddress(formatIpv6(b), n)).not.toBe(clientAddress(formatIpv6(a), n))
      })
    )
  })

  it('property: IPv4, and IPv4-mapped IPv6, stay the exact IPv4 address', () => {
    fc.assert(
      fc.property(fc.ipV4(), prefix, (ip, n) => {
        expect(clientAddress(ip, n)).toBe(ip)
        expect(clientAddress(`::ffff:${ip}`, n)).toBe(ip)
        expect(clientAddress(`[0:0:0:0:0:FFFF:${ip}]`, n)).toBe(ip)
      })
    )
  })
})
