import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { StampLog } from '../../src/ratelimit/stamp-log'

/** The model: one sorted stamp per permit, as the RateLimiter object kept its log before. */
class Model {
  log: number[] = []
  insert(stamp: number, n: number) {
    this.log.push(...new Array<number>(n).fill(stamp))
    this.log.sort((a, b) => a - b)
  }
  expireThrough(since: number) {
    const before = this.log.length
    this.log = this.log.filter((t) => t > since)
    return before - this.log.length
  }
  trimTo(limit: number) {
    const excess = this.log.length - limit
    if (excess > 0) this.log.splice(0, excess)
    return excess > 0
  }
  remove(stamp: number, n: number) {
    let removed = 0
    for (let i = this.log.length - 1; i >= 0 && removed < n; i--) {
      if (this.log[i] === stamp) {
        this.log.splice(i, 1)
        removed++
      }
    }
    return removed
  }
  popNewest() {
    return this.log.pop() !== undefined
  }
}

const stamp = fc.integer({ min: 0, max: 20 })
const op = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), stamp, n: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ kind: fc.constant('expire' as const), stamp }),
  fc.record({ kind: fc.constant('trim' as const), n: fc.integer({ min: 0, max: 30 }) }),
  fc.record({ kind: fc.constant('remove' as const), stamp, n: fc.integer({ min: 0, max: 5 }) }),
  fc.record({ kind: fc.constant('pop' as const) })
)

describe('StampLog', () => {
  it('counts, expires, trims and removes as one stamp per permit would (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const log = new StampLog()
        const model = new Model()
        for (const o of ops) {
          switch (o.kind) {
            case 'insert':
              log.insert(o.stamp, o.n)
              model.insert(o.stamp, o.n)
              break
            case 'expire':
              expect(log.expireThrough(o.stamp)).toBe(model.expireThrough(o.stamp))
              break
            case 'trim':
              expect(log.trimTo(o.n)).toBe(model.trimTo(o.n))
              break
            case 'remove':
              expect(log.remove(o.stamp, o.n)).toBe(model.remove(o.stamp, o.n))
              break
            case 'pop':
              expect(log.popNewest()).toBe(model.popNewest())
          }
          expect(log.size).toBe(model.log.length)
          expect(log.oldest).toBe(model.log[0])
          expect(log.newest).toBe(model.log.at(-1))
          // What it stores reads back as the same log, and so does the old format.
          const again = StampLog.from(structuredClone(log.toStored()))
          const legacy = StampLog.from([...model.log])
          for (const copy of [again, legacy]) {
            expect(copy.size).toBe(log.size)
            expect(copy.toStored()).toEqual(log.toStored())
          }
        }
      })
    )
  })

  it('keeps one entry per distinct stamp: a lease of 1000 permits is one run', () => {
    const log = new StampLog()
    log.insert(5, 1000)
    log.insert(3, 1)
    expect(log.size).toBe(1001)
    expect(log.toStored()).toEqual({ s: [3, 5], c: [1, 1000] })
  })

  it('reads hostile or broken stored values as an empty or partial log, never throws', () => {
    for (const bad of [
      null,
      42,
      'x',
      { s: [1], c: [] },
      { s: [1], c: [0] },
      { s: ['a'], c: [1] },
    ]) {
      expect(StampLog.from(bad).size).toBe(0)
    }
    expect(StampLog.from([3, 'x', 1]).toStored()).toEqual({ s: [1, 3], c: [1, 1] })
  })
})
