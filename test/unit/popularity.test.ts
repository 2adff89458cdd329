import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { entryTiming } from '../../src/cache/entry-builder'
import type { Config } from '../../src/config/load-config'
import { compileRoutes } from '../../src/config/route-matcher'
import { routeSchema, type RouteConfig } from '../../src/config/schema'
import { responseDirectives } from '../../src/http/cache-control'
import { formatCacheStatus } from '../../src/http/cache-status'
import {
  adaptLifetime,
  heat,
  mayLengthen,
  type AdaptiveTtl,
} from '../../src/popularity/adaptive-ttl'
import { createPopularityEstimator, PopularityBook } from '../../src/popularity/estimator'
import { keyHash, PendingHits } from '../../src/popularity/pending-hits'

const MINUTE = 60_000
const NOW = 1_700_000_000_000

const OPTIONS: AdaptiveTtl = {
  ceilingSeconds: 60,
  floorShare: 0.5,
  coldPerMinute: 1,
  hotPerMinute: 60,
  halfLifeSeconds: 60,
}

describe('popularity estimator (decayed count-min sketch)', () => {
  it('reads a steady rate as that rate once warmed up, and forgets it with its half-life', () => {
    const estimator = createPopularityEstimator({ halfLifeMs: MINUTE })
    const hash = keyHash('/hot')
    // 120 requests a minute, one every 500 ms, for 10 half-lives.
    for (let t = 0; t < 10 * MINUTE; t += 500) estimator.add(hash, 1, NOW + t)
    const end = NOW + 10 * MINUTE
    expect(estimator.perMinute(hash, end)).toBeGreaterThan(115)
    expect(estimator.perMinute(hash, end)).toBeLessThan(125)
    // One half-life without requests: half the estimate.
    expect(estimator.perMinute(hash, end + MINUTE)).toBeCloseTo(estimator.perMinute(hash, end) / 2)
    expect(estimator.perMinute(keyHash('/never'), end)).toBe(0)
  })

  it('is monotone in what it was told: more requests never read as fewer', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 1, max: 20 })), {
          maxLength: 40,
        }),
        fc.integer({ min: 1, max: 100 }),
        (noise, extra) => {
          const a = createPopularityEstimator({ halfLifeMs: MINUTE, width: 16 })
          const b = createPopularityEstimator({ halfLifeMs: MINUTE, width: 16 })
          const hash = keyHash('/k')
          for (const [key, weight] of noise) {
            a.add(keyHash(`/n${key}`), weight, NOW)
            b.add(keyHash(`/n${key}`), weight, NOW)
          }
          a.add(hash, 1, NOW)
          b.add(hash, 1 + extra, NOW)
          expect(b.perMinute(hash, NOW)).toBeGreaterThanOrEqual(a.perMinute(hash, NOW))
        }
      )
    )
  })

  it('never reads a key colder than its own requests (collisions only overestimate)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 500 }), fc.integer({ min: 1, max: 9 })), {
          minLength: 1,
          maxLength: 200,
        }),
        (adds) => {
          const estimator = createPopularityEstimator({ halfLifeMs: MINUTE, width: 32 })
          const truth = new Map<number, number>()
          for (const [key, weight] of adds) {
            estimator.add(keyHash(`/k${key}`), weight, NOW)
            truth.set(key, (truth.get(key) ?? 0) + weight)
          }
          const perCount = (Math.LN2 / MINUTE) * MINUTE
          for (const [key, count] of truth)
            expect(estimator.perMinute(keyHash(`/k${key}`), NOW)).toBeGreaterThanOrEqual(
              count * perCount * (1 - 1e-9)
            )
        }
      )
    )
  })

  it('holds fixed memory however many distinct keys it counts', () => {
    const estimator = createPopularityEstimator({ halfLifeMs: MINUTE })
    const bytes = estimator.bytes
    expect(bytes).toBe(4 * 1024 * 8)
    for (let i = 0; i < 100_000; i++) estimator.add(keyHash(`/flood/${i}`), 1, NOW + i)
    expect(estimator.bytes).toBe(bytes)
  })

  it('stays finite across a long life (its forward-decay landmark is rescaled)', () => {
    const estimator = createPopularityEstimator({ halfLifeMs: 1000 })
    const hash = keyHash('/long')
    for (let day = 0; day < 30; day++) estimator.add(hash, 1, NOW + day * 86_400_000)
    const rate = estimator.perMinute(hash, NOW + 29 * 86_400_000)
    expect(Number.isFinite(rate)).toBe(true)
    expect(rate).toBeCloseTo((Math.LN2 / 1000) * MINUTE)
  })

  it('a book bounds what one report adds and how many estimators it keeps', () => {
    const book = new PopularityBook(2)
    const hash = keyHash('/forged')
    const rate = book.count(hash, Number.MAX_SAFE_INTEGER, 60, NOW)
    expect(rate).toBeCloseTo(1_000_000 * Math.LN2)
    expect(book.count(keyHash('/nan'), Number.NaN, 60, NOW)).toBeCloseTo(Math.LN2)
    for (const halfLife of [1, 2, 3, 4, 5]) book.count(hash, 1, halfLife, NOW)
    expect(book.bytes).toBeLessThanOrEqual(2 * 4 * 1024 * 8)
  })
})

describe('pending hits (per isolate)', () => {
  it('counts requests per key until taken, at least the asking one', () => {
    const pending = new PendingHits()
    const hash = keyHash('/a')
    for (let i = 0; i < 5; i++) pending.count(hash)
    expect(pending.take(hash)).toBe(5)
    expect(pending.take(hash)).toBe(1)
  })

  it('keeps at most its capacity of keys, dropping the longest waiting', () => {
    const pending = new PendingHits(100)
    for (let i = 0; i < 10_000; i++) pending.count(keyHash(`/flood/${i}`))
    expect(pending.size).toBe(100)
    expect(pending.take(keyHash('/flood/0'))).toBe(1)
    pending.count(keyHash('/flood/9999'))
    expect(pending.take(keyHash('/flood/9999'))).toBe(2)
  })
})

describe('adaptive TTL rule', () => {
  const options = fc.record({
    ceilingSeconds: fc.integer({ min: 1, max: 100_000 }),
    floorShare: fc.double({ min: 0, max: 1, noNaN: true }),
    coldPerMinute: fc.double({ min: 0.01, max: 100, noNaN: true }),
    spread: fc.double({ min: 1.01, max: 1000, noNaN: true }),
    halfLifeSeconds: fc.constant(60),
  })
  const toOptions = ({
    spread,
    ...rest
  }: { spread: number } & Omit<AdaptiveTtl, 'hotPerMinute'>) => ({
    ...rest,
    hotPerMinute: rest.coldPerMinute * spread,
  })
  const base = fc.double({ min: 0, max: 1_000_000, noNaN: true })
  const rate = fc.double({ min: 0, max: 1e9, noNaN: true })

  it('never lengthens past the ceiling, never negative, never below the floor', () => {
    fc.assert(
      fc.property(options, base, rate, fc.boolean(), (o, b, r, lengthen) => {
        const adaptive = toOptions(o)
        const lifetime = adaptLifetime(b, r, adaptive, lengthen)
        expect(lifetime).toBeGreaterThanOrEqual(0)
        expect(lifetime).toBeGreaterThanOrEqual(b * adaptive.floorShare - 1e-9)
        expect(lifetime).toBeLessThanOrEqual(Math.max(b, adaptive.ceilingSeconds) + 1e-9)
        if (lifetime > b) expect(lifetime).toBeLessThanOrEqual(adaptive.ceilingSeconds + 1e-9)
        if (!lengthen) expect(lifetime).toBeLessThanOrEqual(b)
      })
    )
  })

  it('is monotone in popularity', () => {
    fc.assert(
      fc.property(options, base, rate, rate, fc.boolean(), (o, b, r1, r2, lengthen) => {
        const adaptive = toOptions(o)
        const [low, high] = r1 <= r2 ? [r1, r2] : [r2, r1]
        expect(adaptLifetime(b, high, adaptive, lengthen)).toBeGreaterThanOrEqual(
          adaptLifetime(b, low, adaptive, lengthen) - 1e-9
        )
      })
    )
  })

  it('floor for cold keys, ceiling for hot ones, log scale between', () => {
    expect(heat(0, OPTIONS)).toBe(0)
    expect(heat(1, OPTIONS)).toBe(0)
    expect(heat(60, OPTIONS)).toBe(1)
    expect(heat(Math.sqrt(60), OPTIONS)).toBeCloseTo(0.5)
    expect(adaptLifetime(10, 0, OPTIONS, true)).toBe(5)
    expect(adaptLifetime(10, 1e6, OPTIONS, true)).toBe(60)
    // A lifetime already past the ceiling is kept for a hot key, not cut to it.
    expect(adaptLifetime(600, 1e6, OPTIONS, true)).toBe(600)
    expect(adaptLifetime(10, 1e6, OPTIONS, false)).toBe(10)
  })

  it('never lengthens under no-cache, must-revalidate, proxy-revalidate or s-maxage', () => {
    const cc = (value: string) =>
      responseDirectives(new Headers({ 'cache-control': value }), ['cdn-cache-control'])
    for (const value of [
      'max-age=10, must-revalidate',
      'max-age=10, proxy-revalidate',
      's-maxage=10',
      'no-cache',
      'max-age=10, no-cache="set-cookie"',
      'max-age=10, no-cache, public',
    ])
      expect(mayLengthen(cc(value)), value).toBe(false)
    for (const value of ['max-age=10', 'public, max-age=10, stale-while-revalidate=5', ''])
      expect(mayLengthen(cc(value)), value).toBe(true)
  })
})

describe('entryTiming with adaptive TTL', () => {
  const CONFIG = { heuristic: { fraction: 0.1, maxSeconds: 86_400 } } as Config
  const route = (patch: Record<string, unknown> = {}) =>
    compileRoutes([
      routeSchema.parse({
        pattern: '/**',
        adaptiveTtl: { ceilingSeconds: 60 },
        ...patch,
      }) as RouteConfig,
    ])[0]!
  const freshSeconds = (
    headers: Record<string, string>,
    perMinute: number | undefined,
    patch?: Record<string, unknown>
  ) => {
    const h = new Headers(headers)
    const cc = responseDirectives(h, ['cdn-cache-control'])
    const exchange = {
      status: 200,
      headers: h,
      cacheControl: cc,
      requestTime: NOW,
      responseTime: NOW,
    }
    const t = entryTiming(exchange, route(patch), CONFIG, { perMinute })
    return (t.freshUntil - NOW) / 1000
  }

  it('hot keys get the ceiling, cold ones the floor; unknown popularity leaves it alone', () => {
    expect(freshSeconds({ 'cache-control': 'max-age=10' }, 1000)).toBe(60)
    expect(freshSeconds({ 'cache-control': 'max-age=10' }, 0)).toBe(5)
    expect(freshSeconds({ 'cache-control': 'max-age=10' }, undefined)).toBe(10)
  })

  it('scales a route ttl too (the operator opted in on the same route)', () => {
    expect(freshSeconds({}, 1000, { ttl: 2 })).toBe(60)
    expect(freshSeconds({}, 0, { ttl: 2 })).toBe(1)
  })

  it('respects the origin: never past max-age under must-revalidate, 0 under no-cache', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 600 }),
        fc.constantFrom('must-revalidate', 'proxy-revalidate'),
        fc.double({ min: 0, max: 1e9, noNaN: true }),
        (maxAge, directive, perMinute) => {
          const fresh = freshSeconds(
            { 'cache-control': `max-age=${maxAge}, ${directive}` },
            perMinute
          )
          expect(fresh).toBeLessThanOrEqual(maxAge)
          expect(
            freshSeconds({ 'cache-control': `s-maxage=${maxAge}` }, perMinute)
          ).toBeLessThanOrEqual(maxAge)
          expect(freshSeconds({ 'cache-control': 'no-cache, max-age=60' }, perMinute)).toBe(0)
          // Not even a route ttl is lengthened against the origin's no-cache.
          expect(
            freshSeconds({ 'cache-control': 'no-cache' }, perMinute, { ttl: 5 })
          ).toBeLessThanOrEqual(5)
        }
      )
    )
  })

  it('subtracts the age the answer already had after scaling its lifetime', () => {
    expect(freshSeconds({ 'cache-control': 'max-age=10', age: '8' }, 1000)).toBe(52)
  })
})

describe('Cache-Status popularity parameter', () => {
  it('names the rate a fill scaled its freshness by (RFC 9211 extension parameter)', () => {
    const status = { fwd: 'miss', ttl: 30, stored: true, popularity: 70.4 } as const
    expect(formatCacheStatus('edge-cache', status)).toBe(
      'edge-cache; fwd=miss; ttl=30; stored; popularity=70'
    )
    expect(formatCacheStatus('edge-cache', { fwd: 'miss', ttl: 30, stored: true })).toBe(
      'edge-cache; fwd=miss; ttl=30; stored'
    )
  })
})
