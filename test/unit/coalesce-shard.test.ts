import { describe, expect, it } from 'vitest'
import { coalescerName, hash64, jumpHash, shardOf } from '../../src/coalesce/shard'

const KEYS = Array.from({ length: 20_000 }, (_, i) => `/products/${i}?page=${i % 7}`)

describe('jump consistent hash', () => {
  it('moves about 1/(N+1) of the keys when N shards grow to N+1, all of them to the new shard', () => {
    for (const n of [1, 7, 16, 63, 64, 255]) {
      let moved = 0
      for (const key of KEYS) {
        const before = shardOf(key, n)
        const after = shardOf(key, n + 1)
        if (before !== after) {
          moved++
          expect(after).toBe(n)
        }
      }
      const fraction = moved / KEYS.length
      const expected = 1 / (n + 1)
      // Binomial spread: 4 standard deviations of the moved share.
      const tolerance = 4 * Math.sqrt((expected * (1 - expected)) / KEYS.length)
      expect(Math.abs(fraction - expected)).toBeLessThanOrEqual(tolerance)
    }
  })

  it('spreads keys evenly over the shards', () => {
    const counts = new Array<number>(64).fill(0)
    for (const key of KEYS) counts[shardOf(key, 64)]!++
    const mean = KEYS.length / 64
    for (const count of counts) expect(Math.abs(count - mean)).toBeLessThan(mean * 0.25)
  })

  it('is deterministic and in range', () => {
    expect(jumpHash(0n, 1)).toBe(0)
    for (let i = 0n; i < 1000n; i++) {
      const bucket = jumpHash(i * 0x9e3779b97f4a7c15n, 10)
      expect(bucket).toBeGreaterThanOrEqual(0)
      expect(bucket).toBeLessThan(10)
    }
    expect(jumpHash(1n, 1000)).toBe(jumpHash(1n, 1000))
    expect(hash64('/a')).toBe(hash64('/a'))
    expect(hash64('/a')).not.toBe(hash64('/b'))
    expect(() => jumpHash(1n, 0)).toThrow(RangeError)
  })

  it('names the object by domain: the home region, or global', () => {
    const settings = { shards: 64, domain: 'region' as const }
    const shard = shardOf('/products/1', 64)
    expect(coalescerName('/products/1', settings, 'eu-west')).toBe(`eu-west/${shard}`)
    expect(coalescerName('/products/1', settings, undefined)).toBe(`global/${shard}`)
    expect(coalescerName('/products/1', { ...settings, domain: 'global' }, 'eu-west')).toBe(
      `global/${shard}`
    )
  })
})
