import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BloomFilter, BloomFormatError } from '../../src/guard/bloom'

describe('Bloom filter', () => {
  it('never says a member is absent (any members)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ maxLength: 40 }), { maxLength: 300 }), (members) => {
        const filter = BloomFilter.of(members, members.length, 0.01)
        for (const member of members) expect(filter.mightContain(member)).toBe(true)
      })
    )
  })

  it('lets through absent ids at about the rate it was sized for', () => {
    const members = Array.from({ length: 10_000 }, (_, i) => `id-${i}`)
    const filter = BloomFilter.of(members, members.length, 0.01)
    let false_positives = 0
    const probes = 100_000
    for (let i = 0; i < probes; i++) if (filter.mightContain(`absent-${i}`)) false_positives++
    // Sized for 1 %: measured well within 2 % (a sizing or hashing mistake shows as far more).
    expect(false_positives / probes).toBeLessThan(0.02)
  })

  it('round-trips through bytes', () => {
    const filter = BloomFilter.of(['1', '2', 'ünï', ''], 4, 0.001)
    const again = BloomFilter.fromBytes(filter.toBytes())
    expect(again.bits).toBe(filter.bits)
    expect(again.hashes).toBe(filter.hashes)
    for (const member of ['1', '2', 'ünï', '']) expect(again.mightContain(member)).toBe(true)
  })

  it('reads anything else as a format error, never as a filter that lies', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          const filter = BloomFilter.fromBytes(bytes)
          // Only bytes that really are a filter (header and length agree) are accepted.
          expect(filter.toBytes()).toEqual(bytes)
        } catch (error) {
          expect(error).toBeInstanceOf(BloomFormatError)
        }
      })
    )
  })
})
