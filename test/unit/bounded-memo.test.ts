import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BoundedMemo } from '../../src/lib/bounded-memo'

describe('BoundedMemo', () => {
  it('keeps at most maxEntries, dropping the oldest, and never a key over maxKeyLength', () => {
    const memo = new BoundedMemo<number>(3, 4)
    for (const key of ['a', 'b', 'c', 'd']) expect(memo.remember(key, key.length)).toBe(1)
    expect(memo.get('a')).toBeUndefined()
    expect(['b', 'c', 'd'].map((key) => memo.get(key))).toEqual([1, 1, 1])
    // A longer key (a client's choice) is answered, not kept.
    expect(memo.remember('x'.repeat(5), 5)).toBe(5)
    expect(memo.get('x'.repeat(5))).toBeUndefined()
    expect(memo.size).toBe(3)
  })

  it('never holds more than its bound, whatever keys arrive (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 12 }), { maxLength: 200 }), (keys) => {
        const memo = new BoundedMemo<string>(16, 8)
        for (const key of keys) {
          expect(memo.get(key) ?? memo.remember(key, key.toUpperCase())).toBe(key.toUpperCase())
          expect(memo.size).toBeLessThanOrEqual(16)
        }
      })
    )
  })
})
