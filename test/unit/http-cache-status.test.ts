import { describe, expect, it } from 'vitest'
import { formatCacheStatus, prependCacheStatus } from '../../src/http/cache-status'

describe('formatCacheStatus (RFC 9211)', () => {
  describe('hit', () => {
    it('formats a hit with its ttl', () => {
      expect(formatCacheStatus('edge-cache', { hit: true, ttl: 60 })).toBe(
        'edge-cache; hit; ttl=60'
      )
    })

    it('truncates a fractional ttl to an sf-integer', () => {
      expect(formatCacheStatus('c', { hit: true, ttl: 59.999 })).toBe('c; hit; ttl=59')
      expect(formatCacheStatus('c', { hit: true, ttl: 0.4 })).toBe('c; hit; ttl=0')
    })

    it('keeps a negative ttl (a stale hit) and truncates toward zero', () => {
      expect(formatCacheStatus('c', { hit: true, ttl: -5 })).toBe('c; hit; ttl=-5')
      expect(formatCacheStatus('c', { hit: true, ttl: -3.7 })).toBe('c; hit; ttl=-3')
    })

    it('never prints -0', () => {
      expect(formatCacheStatus('c', { hit: true, ttl: -0.4 })).toBe('c; hit; ttl=0')
    })

    it('adds a token detail', () => {
      expect(formatCacheStatus('edge-cache', { hit: true, ttl: 10, detail: 'L1' })).toBe(
        'edge-cache; hit; ttl=10; detail=L1'
      )
    })

    it('quotes a detail that is not a token', () => {
      expect(
        formatCacheStatus('edge-cache', { hit: true, ttl: -2, detail: 'L1 stale-while-revalidate' })
      ).toBe('edge-cache; hit; ttl=-2; detail="L1 stale-while-revalidate"')
    })

    it('never emits fwd, stored or collapsed', () => {
      const out = formatCacheStatus('c', { hit: true, ttl: 1 })
      expect(out).not.toMatch(/fwd|stored|collapsed/)
    })
  })

  describe('fwd', () => {
    it('formats a bare forward', () => {
      expect(formatCacheStatus('edge-cache', { fwd: 'miss' })).toBe('edge-cache; fwd=miss')
    })

    it.each(['bypass', 'method', 'uri-miss', 'vary-miss', 'miss', 'request', 'stale'] as const)(
      'fwd=%s',
      (fwd) => {
        expect(formatCacheStatus('c', { fwd })).toBe(`c; fwd=${fwd}`)
      }
    )

    it('formats every parameter in a fixed order', () => {
      expect(
        formatCacheStatus('edge-cache', {
          fwd: 'miss',
          fwdStatus: 200,
          stored: true,
          collapsed: true,
          ttl: 300.9,
          detail: 'origin',
        })
      ).toBe('edge-cache; fwd=miss; fwd-status=200; ttl=300; stored; collapsed; detail=origin')
    })

    it('omits false booleans and missing values', () => {
      expect(
        formatCacheStatus('c', { fwd: 'stale', fwdStatus: 503, stored: false, collapsed: false })
      ).toBe('c; fwd=stale; fwd-status=503')
    })

    it('includes a ttl of 0 and a negative ttl', () => {
      expect(formatCacheStatus('c', { fwd: 'miss', ttl: 0, stored: true })).toBe(
        'c; fwd=miss; ttl=0; stored'
      )
      expect(formatCacheStatus('c', { fwd: 'stale', ttl: -12.5 })).toBe('c; fwd=stale; ttl=-12')
    })

    it('collapsed without stored', () => {
      expect(formatCacheStatus('c', { fwd: 'miss', collapsed: true })).toBe(
        'c; fwd=miss; collapsed'
      )
    })

    it('a storability reason as detail is a token', () => {
      expect(
        formatCacheStatus('edge-cache', { fwd: 'miss', fwdStatus: 200, detail: 'no-store' })
      ).toBe('edge-cache; fwd=miss; fwd-status=200; detail=no-store')
    })
  })

  describe('detail as sf-token or sf-string (RFC 8941 §3.3.3, §3.3.4)', () => {
    it.each([
      'L1',
      'L2',
      'origin',
      'stale-if-error',
      'no-cache-without-validator',
      '*star',
      'a:b/c',
      "a!#$%&'*+-.^_`|~z",
    ])('%s is sent as a token', (detail) => {
      expect(formatCacheStatus('c', { hit: true, ttl: 1, detail })).toBe(
        `c; hit; ttl=1; detail=${detail}`
      )
    })

    it.each([
      ['has space', '"has space"'],
      ['1starts-with-digit', '"1starts-with-digit"'],
      ['-dash', '"-dash"'],
      ['a,b', '"a,b"'],
      ['a;b', '"a;b"'],
      ['a=b', '"a=b"'],
      ['a(b)', '"a(b)"'],
    ])('%j is sent as a quoted string', (detail, expected) => {
      expect(formatCacheStatus('c', { fwd: 'miss', detail })).toBe(
        `c; fwd=miss; detail=${expected}`
      )
    })

    it('escapes quotes and backslashes in a quoted string', () => {
      expect(formatCacheStatus('c', { fwd: 'miss', detail: 'say "hi"' })).toBe(
        'c; fwd=miss; detail="say \\"hi\\""'
      )
      expect(formatCacheStatus('c', { fwd: 'miss', detail: 'a\\b' })).toBe(
        'c; fwd=miss; detail="a\\\\b"'
      )
      expect(formatCacheStatus('c', { fwd: 'miss', detail: '\\"' })).toBe(
        'c; fwd=miss; detail="\\\\\\""'
      )
    })

    it('omits an empty detail', () => {
      expect(formatCacheStatus('c', { hit: true, ttl: 1, detail: '' })).toBe('c; hit; ttl=1')
      expect(formatCacheStatus('c', { fwd: 'miss', detail: '' })).toBe('c; fwd=miss')
    })

    it('is a valid header value', () => {
      const value = formatCacheStatus('edge-cache', {
        fwd: 'stale',
        ttl: -3,
        detail: 'quote " and \\ backslash',
      })
      expect(new Headers({ 'cache-status': value }).get('cache-status')).toBe(value)
    })
  })
})

describe('prependCacheStatus (RFC 9211 §2)', () => {
  it('returns ours alone without an upstream value', () => {
    expect(prependCacheStatus('edge; hit; ttl=1', null)).toBe('edge; hit; ttl=1')
    expect(prependCacheStatus('edge; hit; ttl=1', '')).toBe('edge; hit; ttl=1')
  })

  it('puts ours first, nearest the client', () => {
    expect(prependCacheStatus('edge; fwd=miss', 'OriginCDN; hit; ttl=30')).toBe(
      'edge; fwd=miss, OriginCDN; hit; ttl=30'
    )
  })

  it('keeps an upstream list intact', () => {
    expect(prependCacheStatus('edge; hit; ttl=1', 'b; fwd=uri-miss, a; hit')).toBe(
      'edge; hit; ttl=1, b; fwd=uri-miss, a; hit'
    )
  })
})
