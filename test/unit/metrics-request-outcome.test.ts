import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { classifyResponse } from '../../src/metrics/request-outcome'

const classify = (cacheStatus: string | null, status = 200) =>
  classifyResponse(status, cacheStatus, 'edge-cache')

describe('classifyResponse: outcome and tier from our Cache-Status member', () => {
  it.each([
    ['edge-cache; hit; ttl=3; detail=memory', { outcome: 'hit', tier: 'memory' }],
    ['edge-cache; hit; ttl=59; detail=L1', { outcome: 'hit', tier: 'L1' }],
    [
      'edge-cache; hit; ttl=12; detail=L2/eu-west',
      { outcome: 'hit', tier: 'L2', region: 'eu-west' },
    ],
    [
      'edge-cache; hit; ttl=-3; detail="L1 stale-while-revalidate"',
      { outcome: 'stale', tier: 'L1', stale: 'swr' },
    ],
    [
      'edge-cache; hit; ttl=-3; detail="L2/ap-south stale-while-revalidate"',
      { outcome: 'stale', tier: 'L2', stale: 'swr', region: 'ap-south' },
    ],
    [
      'edge-cache; fwd=miss; ttl=60; stored',
      { outcome: 'miss', tier: 'origin', originFetch: 'miss' },
    ],
    [
      'edge-cache; fwd=vary-miss; ttl=60; stored',
      { outcome: 'miss', tier: 'origin', originFetch: 'miss' },
    ],
    [
      'edge-cache; fwd=miss; detail=no-store',
      { outcome: 'miss', tier: 'origin', originFetch: 'miss' },
    ],
    [
      'edge-cache; fwd=stale; fwd-status=304; ttl=60; stored',
      { outcome: 'revalidated', tier: 'origin', originFetch: 'revalidate' },
    ],
    [
      'edge-cache; fwd=stale; fwd-status=200; ttl=60; stored',
      { outcome: 'miss', tier: 'origin', originFetch: 'revalidate' },
    ],
    [
      'edge-cache; fwd=stale; fwd-status=503; ttl=-20; detail=stale-if-error',
      { outcome: 'stale', tier: 'origin', stale: 'sie', originFetch: 'revalidate' },
    ],
    [
      'edge-cache; fwd=miss; detail=origin-timeout',
      { outcome: 'error', tier: 'origin', originFetch: 'miss' },
    ],
    [
      'edge-cache; fwd=bypass; detail=route',
      { outcome: 'pass', tier: 'origin', originFetch: 'pass' },
    ],
    ['edge-cache; fwd=method', { outcome: 'pass', tier: 'origin', originFetch: 'pass' }],
    [
      'edge-cache; fwd=bypass; detail=origin-error',
      { outcome: 'error', tier: 'origin', originFetch: 'pass' },
    ],
  ])('%s', (header, expected) => {
    expect(classify(header)).toEqual({ collapsed: false, ...expected })
  })

  it('reads only our member, the first one, whatever the origin’s caches appended', () => {
    expect(classify('edge-cache; hit; ttl=1; detail=L1, origin-cdn; fwd=miss')).toMatchObject({
      outcome: 'hit',
      tier: 'L1',
    })
    // Another cache's member first: not ours, so nothing is known about the tiers.
    expect(classify('origin-cdn; hit, edge-cache; hit; detail=L1')).toEqual({
      outcome: 'pass',
      tier: 'edge',
      collapsed: false,
    })
  })

  it('counts a collapsed follower as coalesced, not as an origin fetch', () => {
    expect(classify('edge-cache; fwd=miss; ttl=60; stored; collapsed')).toEqual({
      outcome: 'miss',
      tier: 'origin',
      collapsed: true,
      originFetch: undefined,
    })
  })

  it('names 429s rate-limited and answers without our member edge errors or pass', () => {
    expect(classify(null, 429)).toMatchObject({ outcome: 'rate_limited', tier: 'edge' })
    expect(classify(null, 503)).toMatchObject({ outcome: 'error', tier: 'edge' })
    expect(classify(null, 500)).toMatchObject({ outcome: 'error', tier: 'edge' })
    expect(classify(null, 404)).toMatchObject({ outcome: 'pass', tier: 'edge' })
  })

  it('answers the same remembered as worked out, whatever the status, name and field value', () => {
    const member = fc.constantFrom(
      'edge-cache; hit; ttl=3; detail=memory',
      'edge-cache; fwd=miss; ttl=60; stored',
      'edge-cache; fwd=stale; fwd-status=304; collapsed',
      'other-cache; hit',
      'edge-cache; fwd=uri-miss; detail=origin-timeout'
    )
    const field = fc.oneof(
      member,
      fc.tuple(member, member).map(([a, b]) => `${a}, ${b}`),
      fc.string({ maxLength: 600 })
    )
    const status = fc.constantFrom(200, 304, 404, 429, 500, 503)
    const name = fc.constantFrom('edge-cache', 'other-cache')
    fc.assert(
      fc.property(status, fc.option(field), name, (code, value, cacheName) => {
        const first = classifyResponse(code, value, cacheName)
        // The second call comes from the memo when the field is short enough to be kept.
        expect(classifyResponse(code, value, cacheName)).toEqual(first)
        // A different status with the same field is worked out on its own (a 429 stays a 429).
        const other = code === 429 ? 200 : 429
        expect(classifyResponse(other, value, cacheName).outcome === 'rate_limited').toBe(
          other === 429
        )
      })
    )
  })

  it('puts a tier name it does not know under other (label values stay bounded)', () => {
    expect(classify('edge-cache; hit; ttl=1; detail=L9')).toMatchObject({ tier: 'other' })
    expect(classify('edge-cache; hit; ttl=1')).toMatchObject({ tier: 'other' })
  })
})
