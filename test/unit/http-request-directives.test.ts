import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  clientDirectives,
  copyUse,
  parseRequestCacheControl,
  type RequestDirectives,
  type StoredTimes,
} from '../../src/http/request-directives'

const NOW = 1_700_000_000_000

describe('parseRequestCacheControl (RFC 9111 §5.2.1)', () => {
  it.each<[string, Partial<RequestDirectives>]>([
    ['no-cache', { noCache: true }],
    ['NO-CACHE', { noCache: true }],
    ['no-store', { noStore: true }],
    ['only-if-cached', { onlyIfCached: true }],
    ['max-age=30', { maxAge: 30 }],
    ['max-age="30"', { maxAge: 30 }],
    ['min-fresh=10', { minFresh: 10 }],
    ['max-stale', { maxStale: Infinity }],
    ['max-stale=5', { maxStale: 5 }],
    ['max-stale=x', { maxStale: 0 }],
    ['max-age=99999999999', { maxAge: 2_147_483_648 }],
    ['max-age=10, max-age=20', { maxAge: 10 }],
    [' no-cache , max-age=0 ,', { noCache: true, maxAge: 0 }],
    ['unknown, x="a,b", only-if-cached', { onlyIfCached: true }],
  ])('%s', (value, expected) => {
    expect(parseRequestCacheControl(value)).toMatchObject(expected)
  })

  it('a malformed element means nothing, but its no-store / no-cache still count', () => {
    const swallowed = parseRequestCacheControl('max-age=60;no-store')
    expect(swallowed.noStore).toBe(true)
    expect(swallowed.maxAge).toBeUndefined()
    expect(parseRequestCacheControl('max-age=x').maxAge).toBeUndefined()
    expect(parseRequestCacheControl('only-if-cached;x, no-cache')).toMatchObject({
      onlyIfCached: false,
      noCache: true,
    })
    expect(parseRequestCacheControl('"max-stale"').maxStale).toBeUndefined()
  })

  it('fast-check: any value parses without throwing, and adding no-store always counts', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (value) => {
        const parsed = parseRequestCacheControl(value)
        expect(typeof parsed.noCache).toBe('boolean')
        expect(parseRequestCacheControl(`${value},no-store`).noStore).toBe(true)
        expect(parseRequestCacheControl(`no-cache,${value}`).noCache).toBe(true)
      })
    )
  })
})

describe('clientDirectives: honoured only where the route opts in', () => {
  const headers = (init: Record<string, string>) => new Headers(init)

  it('none without Cache-Control or Pragma (the fast path)', () => {
    expect(clientDirectives(headers({}), true)).toBeUndefined()
    expect(clientDirectives(headers({}), false)).toBeUndefined()
  })

  it('off: everything but only-if-cached is ignored', () => {
    expect(clientDirectives(headers({ 'cache-control': 'no-cache, no-store' }), false)).toBe(
      undefined
    )
    expect(clientDirectives(headers({ pragma: 'no-cache' }), false)).toBeUndefined()
    expect(
      clientDirectives(headers({ 'cache-control': 'no-cache, only-if-cached' }), false)
    ).toEqual({ noCache: false, noStore: false, onlyIfCached: true })
  })

  it('on: Pragma: no-cache stands in only without Cache-Control (RFC 9111 §5.4)', () => {
    expect(clientDirectives(headers({ pragma: 'no-cache' }), true)?.noCache).toBe(true)
    expect(clientDirectives(headers({ pragma: 'x, No-Cache' }), true)?.noCache).toBe(true)
    expect(clientDirectives(headers({ pragma: 'no-cachex' }), true)).toBeUndefined()
    expect(
      clientDirectives(headers({ pragma: 'no-cache', 'cache-control': 'max-age=60' }), true)
    ).toMatchObject({ noCache: false, maxAge: 60 })
  })
})

describe('copyUse', () => {
  /** A copy stored `ageSec` ago, fresh for `freshSec` more seconds (negative: stale for that long). */
  const copy = (ageSec: number, freshSec: number, noStaleUse = false): StoredTimes => ({
    storedAt: NOW - ageSec * 1000,
    initialAgeSec: 0,
    freshUntil: NOW + freshSec * 1000,
    noStaleUse,
  })
  const d = (value: string) => parseRequestCacheControl(value)

  it.each<[string, StoredTimes, string, string]>([
    ['no-cache revalidates a fresh copy', copy(1, 59), 'no-cache', 'revalidate'],
    ['max-age: younger copies are used', copy(10, 50), 'max-age=30', 'fresh'],
    ['max-age: older copies revalidate', copy(40, 20), 'max-age=30', 'revalidate'],
    ['max-age=0 revalidates a copy a second old', copy(1, 59), 'max-age=0', 'revalidate'],
    ['min-fresh: fresh long enough', copy(1, 59), 'min-fresh=30', 'fresh'],
    ['min-fresh: not fresh long enough', copy(40, 20), 'min-fresh=30', 'revalidate'],
    ['min-fresh on a stale copy', copy(70, -10), 'min-fresh=5, max-stale', 'revalidate'],
    ['max-stale accepts a stale copy', copy(70, -10), 'max-stale', 'max-stale'],
    ['max-stale=N within N', copy(70, -10), 'max-stale=20', 'max-stale'],
    ['max-stale=N past N', copy(70, -10), 'max-stale=5', 'default'],
    ['max-stale never for must-revalidate', copy(70, -10, true), 'max-stale', 'default'],
    ['nothing said about a stale copy', copy(70, -10), 'no-store', 'default'],
    ['fresh copy, no-store', copy(1, 59), 'no-store', 'fresh'],
  ])('%s', (_, stored, value, expected) => {
    expect(copyUse(stored, NOW, d(value))).toBe(expected)
  })

  it('fast-check: no-cache always revalidates; a stale copy is never "fresh"', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: -10_000, max: 10_000 }),
        fc.boolean(),
        fc.string({ maxLength: 40 }),
        (age, fresh, noStaleUse, value) => {
          const stored = copy(age, fresh, noStaleUse)
          expect(copyUse(stored, NOW, d(`no-cache,${value}`))).toBe('revalidate')
          const use = copyUse(stored, NOW, d(value))
          if (fresh <= 0) expect(use).not.toBe('fresh')
          if (noStaleUse) expect(use).not.toBe('max-stale')
        }
      )
    )
  })
})
