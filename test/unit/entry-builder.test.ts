import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { entryTiming } from '../../src/cache/entry-builder'
import type { Config } from '../../src/config/load-config'
import { compileRoutes } from '../../src/config/route-matcher'
import type { RouteConfig } from '../../src/config/schema'
import { responseDirectives } from '../../src/http/cache-control'

const CONFIG = { heuristic: { fraction: 0.1, maxSeconds: 86_400 } } as Config
const NOW = 1_700_000_000_000
const TARGETED = ['cloudflare-cdn-cache-control', 'cdn-cache-control']

function timing(
  headers: Record<string, string>,
  route: Partial<RouteConfig> = {},
  status = 200,
  draw?: () => number
) {
  const compiled = compileRoutes([
    {
      pattern: '/**',
      bypass: false,
      staleWhileRevalidate: 30,
      staleIfError: 300,
      freshnessJitter: 0,
      writeThrough: false,
      key: { ignoreQuery: [], headers: [] },
      tags: [],
      requestDirectives: false,
      authorization: 'bypass',
      ...route,
    },
  ])[0]!
  const h = new Headers(headers)
  const exchange = {
    status,
    headers: h,
    cacheControl: responseDirectives(h, TARGETED),
    requestTime: NOW,
    responseTime: NOW,
  }
  return entryTiming(exchange, compiled, CONFIG, { draw })
}

describe('entryTiming: stale windows', () => {
  it('route defaults fill in for a plain max-age', () => {
    const t = timing({ 'cache-control': 'max-age=60' })
    expect(t.staleWhileRevalidateUntil - t.freshUntil).toBe(30_000)
    expect(t.staleIfErrorUntil - t.freshUntil).toBe(300_000)
  })

  it('s-maxage carries proxy-revalidate (RFC 9111 §5.2.2.10): no route default stale windows', () => {
    const t = timing({ 'cache-control': 's-maxage=60' })
    expect(t.staleWhileRevalidateUntil).toBe(t.freshUntil)
    expect(t.staleIfErrorUntil).toBe(t.freshUntil)
  })

  it('the origin’s own RFC 5861 directives still count beside s-maxage', () => {
    const t = timing({ 'cache-control': 's-maxage=60, stale-if-error=120' })
    expect(t.staleIfErrorUntil - t.freshUntil).toBe(120_000)
    expect(t.staleWhileRevalidateUntil).toBe(t.freshUntil)
  })

  it('proxy-revalidate and must-revalidate rule out stale serving altogether', () => {
    for (const cc of [
      'max-age=60, proxy-revalidate, stale-if-error=60',
      'max-age=60, must-revalidate',
    ]) {
      const t = timing({ 'cache-control': cc })
      expect(t.mustRevalidate).toBe(true)
      expect(t.staleIfErrorUntil).toBe(t.freshUntil)
    }
  })

  it('an error status gets no route default stale windows', () => {
    const t = timing({ 'cache-control': 'max-age=60' }, {}, 500)
    expect(t.staleWhileRevalidateUntil).toBe(t.freshUntil)
    expect(t.staleIfErrorUntil).toBe(t.freshUntil)
  })

  it('a route ttl keeps its own windows', () => {
    const t = timing({ 'cache-control': 's-maxage=5' }, { ttl: 60 })
    expect(t.freshUntil - NOW).toBe(60_000)
    expect(t.staleIfErrorUntil - t.freshUntil).toBe(300_000)
  })
})

describe('entryTiming: freshness jitter', () => {
  it('shortens freshness by up to the fraction, never lengthens it', () => {
    const plain = timing({ 'cache-control': 'max-age=100' })
    expect(plain.freshUntil).toBe(NOW + 100_000)
    const none = timing({ 'cache-control': 'max-age=100' }, { freshnessJitter: 0.2 }, 200, () => 0)
    expect(none.freshUntil).toBe(NOW + 100_000)
    const most = timing(
      { 'cache-control': 'max-age=100' },
      { freshnessJitter: 0.2 },
      200,
      () => 0.999_999
    )
    expect(most.freshUntil).toBeGreaterThanOrEqual(NOW + 80_000)
    expect(most.freshUntil).toBeLessThan(NOW + 80_100)
    // The stale windows follow the copy's own end of freshness.
    expect(most.staleWhileRevalidateUntil - most.freshUntil).toBe(30_000)
  })

  it('any lifetime, age and draw: within [1 - jitter, 1] of the unjittered freshness', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 0, max: 2_000_000 }),
        fc.double({ min: 0, max: 0.5, noNaN: true }),
        fc.double({ min: 0, max: 0.999_999, noNaN: true }),
        (maxAge, age, jitter, u) => {
          const headers = { 'cache-control': `max-age=${maxAge}`, age: String(age) }
          const base = timing(headers).freshUntil - NOW
          const cut = timing(headers, { freshnessJitter: jitter }, 200, () => u).freshUntil - NOW
          expect(cut).toBeLessThanOrEqual(base)
          expect(cut).toBeGreaterThanOrEqual(Math.floor(base * (1 - jitter)))
        }
      )
    )
  })
})
