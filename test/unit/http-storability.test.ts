import { describe, expect, it } from 'vitest'
import { parseCacheControl, responseDirectives } from '../../src/http/cache-control'
import { checkStorable, responseRefusesSharing } from '../../src/http/storability'
import type { NotStorableReason, Storability } from '../../src/http/storability'

const FUTURE = new Date(Date.now() + 3_600_000).toUTCString()
const TARGETED = ['cloudflare-cdn-cache-control', 'cdn-cache-control']
const PAST = new Date(Date.now() - 3_600_000 * 24 * 10).toUTCString()

interface Case {
  readonly status?: number
  readonly response?: Record<string, string>
  readonly request?: Record<string, string>
  readonly ttlOverride?: boolean
  readonly keyHeaders?: readonly string[]
}

function check({
  status = 200,
  response = {},
  request = {},
  ttlOverride = false,
  keyHeaders = [],
}: Case): Storability {
  const requestHeaders = new Headers(request)
  const responseHeaders = new Headers(response)
  return checkStorable({
    requestHeaders,
    requestCacheControl: parseCacheControl(requestHeaders.get('cache-control')),
    status,
    responseHeaders,
    cacheControl: responseDirectives(responseHeaders, TARGETED),
    ttlOverride,
    keyHeaders,
  })
}

const STORABLE = { storable: true }
const not = (reason: NotStorableReason) => ({ storable: false, reason })

describe('checkStorable (RFC 9111 §3, shared cache)', () => {
  describe('explicit freshness makes a response storable', () => {
    it.each<[string, Record<string, string>]>([
      ['s-maxage', { 'cache-control': 's-maxage=60' }],
      ['max-age', { 'cache-control': 'max-age=60' }],
      ['max-age=0', { 'cache-control': 'max-age=0' }],
      ['Expires in the future', { expires: FUTURE }],
      ['Expires in the past', { expires: PAST }],
      ['invalid Expires', { expires: '0' }],
      ['public with max-age', { 'cache-control': 'public, max-age=60' }],
    ])('%s', (_, response) => {
      expect(check({ response })).toEqual(STORABLE)
    })
  })

  describe('no-store (RFC 9111 §5.2.2.5, §5.2.1.5)', () => {
    it('in the response is not storable', () => {
      expect(check({ response: { 'cache-control': 'no-store, max-age=60' } })).toEqual(
        not('no-store')
      )
      expect(check({ response: { 'cache-control': 'public, s-maxage=60, NO-STORE' } })).toEqual(
        not('no-store')
      )
    })

    it('in the request is not storable', () => {
      expect(
        check({
          request: { 'cache-control': 'no-store' },
          response: { 'cache-control': 'public, max-age=60' },
        })
      ).toEqual(not('no-store'))
    })

    it('request no-cache alone does not prevent storing', () => {
      expect(
        check({
          request: { 'cache-control': 'no-cache' },
          response: { 'cache-control': 'max-age=60' },
        })
      ).toEqual(STORABLE)
    })
  })

  describe('private (RFC 9111 §5.2.2.7)', () => {
    it('unqualified private is not storable in a shared cache', () => {
      expect(check({ response: { 'cache-control': 'private, max-age=60' } })).toEqual(
        not('private')
      )
      expect(check({ response: { 'cache-control': 'private, public, s-maxage=60' } })).toEqual(
        not('private')
      )
    })

    it('qualified private="x" is storable (only the field is withheld)', () => {
      expect(check({ response: { 'cache-control': 'private="x-user", max-age=60' } })).toEqual(
        STORABLE
      )
    })

    it('ttlOverride does not make a private response storable', () => {
      expect(check({ response: { 'cache-control': 'private' }, ttlOverride: true })).toEqual(
        not('private')
      )
    })
  })

  describe('Set-Cookie', () => {
    it('is never stored, even with public / s-maxage', () => {
      expect(check({ response: { 'cache-control': 'max-age=60', 'set-cookie': 'sid=1' } })).toEqual(
        not('set-cookie')
      )
      expect(
        check({
          response: { 'cache-control': 'public, s-maxage=60', 'Set-Cookie': 'sid=1; Path=/' },
        })
      ).toEqual(not('set-cookie'))
    })

    it('is not overridden by ttlOverride', () => {
      expect(check({ response: { 'set-cookie': 'a=b' }, ttlOverride: true })).toEqual(
        not('set-cookie')
      )
    })
  })

  describe('Authorization requests (RFC 9111 §3.5, stricter)', () => {
    it('are not storable', () => {
      expect(
        check({
          request: { authorization: 'Bearer abc' },
          response: { 'cache-control': 'max-age=60' },
        })
      ).toEqual(not('authorization'))
    })

    it('are not storable even with public, s-maxage or must-revalidate', () => {
      for (const cc of ['public, max-age=60', 's-maxage=60', 'must-revalidate, max-age=60']) {
        expect(
          check({ request: { Authorization: 'Basic eDp5' }, response: { 'cache-control': cc } }),
          cc
        ).toEqual(not('authorization'))
      }
    })

    it('are storable when the route keys on authorization', () => {
      expect(
        check({
          request: { authorization: 'Bearer abc' },
          response: { 'cache-control': 'max-age=60' },
          keyHeaders: ['accept', 'authorization'],
        })
      ).toEqual(STORABLE)
    })

    it('keying on another header is not enough', () => {
      expect(
        check({
          request: { authorization: 'Bearer abc' },
          response: { 'cache-control': 'max-age=60' },
          keyHeaders: ['cookie', 'x-api-key'],
        })
      ).toEqual(not('authorization'))
    })

    it('are not overridden by ttlOverride', () => {
      expect(check({ request: { authorization: 'x' }, ttlOverride: true })).toEqual(
        not('authorization')
      )
    })

    it('keyed authorization still refuses private and Set-Cookie', () => {
      expect(
        check({
          request: { authorization: 'x' },
          response: { 'cache-control': 'private, max-age=60' },
          keyHeaders: ['authorization'],
        })
      ).toEqual(not('private'))
      expect(
        check({
          request: { authorization: 'x' },
          response: { 'cache-control': 'max-age=60', 'set-cookie': 'a=b' },
          keyHeaders: ['authorization'],
        })
      ).toEqual(not('set-cookie'))
    })
  })

  describe('Vary (RFC 9110 §12.5.5)', () => {
    it.each([['*'], ['accept, *'], ['*, accept'], [' * '], ['Accept,*']])(
      'Vary: %j is not storable',
      (vary) => {
        expect(check({ response: { 'cache-control': 'max-age=60', vary } })).toEqual(
          not('vary-star')
        )
      }
    )

    it('Vary: * on a second field line is not storable', () => {
      const headers = new Headers({ 'cache-control': 'max-age=60' })
      headers.append('vary', 'accept')
      headers.append('vary', '*')
      expect(
        checkStorable({
          requestHeaders: new Headers(),
          requestCacheControl: parseCacheControl(null),
          status: 200,
          responseHeaders: headers,
          cacheControl: parseCacheControl(headers.get('cache-control')),
          ttlOverride: false,
          keyHeaders: [],
        })
      ).toEqual(not('vary-star'))
    })

    it('a Vary naming fields is storable', () => {
      expect(
        check({ response: { 'cache-control': 'max-age=60', vary: 'Accept-Encoding, Accept' } })
      ).toEqual(STORABLE)
    })

    it('ttlOverride does not override Vary: *', () => {
      expect(check({ response: { vary: '*' }, ttlOverride: true })).toEqual(not('vary-star'))
    })
  })

  describe('no-cache (RFC 9111 §5.2.2.4)', () => {
    it('with an ETag is storable', () => {
      expect(check({ response: { 'cache-control': 'no-cache', etag: '"v1"' } })).toEqual(STORABLE)
    })

    it('with a Last-Modified is storable', () => {
      expect(check({ response: { 'cache-control': 'no-cache', 'last-modified': PAST } })).toEqual(
        STORABLE
      )
    })

    it('without a validator is not storable, even with max-age', () => {
      expect(check({ response: { 'cache-control': 'no-cache' } })).toEqual(
        not('no-cache-without-validator')
      )
      expect(check({ response: { 'cache-control': 'no-cache, max-age=60' } })).toEqual(
        not('no-cache-without-validator')
      )
      expect(check({ response: { 'cache-control': 'no-cache' }, ttlOverride: true })).toEqual(
        not('no-cache-without-validator')
      )
    })

    it('qualified no-cache="x" does not need a validator', () => {
      expect(check({ response: { 'cache-control': 'no-cache="set-cookie", max-age=60' } })).toEqual(
        STORABLE
      )
    })
  })

  describe('status codes', () => {
    it.each([500, 502, 503, 504, 507, 599])(
      '%i with max-age is storable (any final status with explicit freshness, RFC 9111 §3)',
      (status) => {
        expect(check({ status, response: { 'cache-control': 'public, max-age=60' } })).toEqual(
          STORABLE
        )
      }
    )

    it.each([500, 503])('%i without explicit freshness is not storable', (status) => {
      expect(check({ status })).toEqual(not('no-freshness'))
      expect(check({ status, response: { 'last-modified': PAST } })).toEqual(not('no-freshness'))
    })

    it('501 with max-age is storable (heuristically cacheable, RFC 9110 §15.1)', () => {
      expect(check({ status: 501, response: { 'cache-control': 'max-age=60' } })).toEqual(STORABLE)
    })

    it('206 is not storable (ranges are not assembled)', () => {
      expect(check({ status: 206, response: { 'cache-control': 'max-age=60' } })).toEqual(
        not('status')
      )
      expect(check({ status: 206, ttlOverride: true })).toEqual(not('status'))
    })

    it.each([100, 101, 103, 199, 304, 600, 999])(
      'a non-final or out-of-range status %i is not storable',
      (status) => {
        expect(check({ status, response: { 'cache-control': 'max-age=60' } })).toEqual(
          not('status')
        )
      }
    )

    it.each([200, 203, 204, 300, 301, 302, 303, 307, 308, 404, 405, 410, 414, 421, 451])(
      '%i with max-age is storable',
      (status) => {
        expect(check({ status, response: { 'cache-control': 'max-age=60' } })).toEqual(STORABLE)
      }
    )

    it.each([201, 202, 205, 299, 399, 400, 401, 403, 418, 499])(
      '%i with max-age is storable (final and explicitly fresh)',
      (status) => {
        expect(check({ status, response: { 'cache-control': 'max-age=60' } })).toEqual(STORABLE)
      }
    )

    it('status is checked before the other reasons', () => {
      expect(check({ status: 600, response: { 'cache-control': 'no-store' } })).toEqual(
        not('status')
      )
    })
  })

  describe('without explicit freshness', () => {
    it('a 200 with only Last-Modified is storable (heuristic)', () => {
      expect(check({ response: { 'last-modified': PAST } })).toEqual(STORABLE)
    })

    it('a 404 with only Last-Modified is storable (heuristic)', () => {
      expect(check({ status: 404, response: { 'last-modified': PAST } })).toEqual(STORABLE)
    })

    it('a 302 with only Last-Modified is not (not heuristically cacheable)', () => {
      expect(check({ status: 302, response: { 'last-modified': PAST } })).toEqual(
        not('no-freshness')
      )
    })

    it('a 302 with public and Last-Modified is storable', () => {
      expect(
        check({ status: 302, response: { 'cache-control': 'public', 'last-modified': PAST } })
      ).toEqual(STORABLE)
    })

    it('nothing at all is no-freshness', () => {
      expect(check({})).toEqual(not('no-freshness'))
      expect(check({ response: { 'content-type': 'application/json', etag: '"a"' } })).toEqual(
        not('no-freshness')
      )
      expect(check({ status: 404 })).toEqual(not('no-freshness'))
    })

    it('stale-while-revalidate alone is not freshness', () => {
      expect(check({ response: { 'cache-control': 'stale-while-revalidate=60' } })).toEqual(
        not('no-freshness')
      )
    })
  })

  describe('ttlOverride (route replaces the origin lifetime)', () => {
    it('stores a 200 without any headers', () => {
      expect(check({ ttlOverride: true })).toEqual(STORABLE)
    })

    it.each([203, 204, 300, 301, 302, 307, 308])('stores a %i without headers', (status) => {
      expect(check({ status, ttlOverride: true })).toEqual(STORABLE)
    })

    it('does not store a 500 without its own freshness', () => {
      expect(check({ status: 500, ttlOverride: true })).toEqual(not('no-freshness'))
    })

    it.each([201, 202, 205])('does not store a %i on the route ttl alone', (status) => {
      expect(check({ status, ttlOverride: true })).toEqual(not('no-freshness'))
    })

    it('does not store a 404 without explicit freshness', () => {
      expect(check({ status: 404, ttlOverride: true })).toEqual(not('no-freshness'))
      expect(check({ status: 410, ttlOverride: true })).toEqual(not('no-freshness'))
    })

    it('stores a 404 with explicit max-age', () => {
      expect(
        check({ status: 404, response: { 'cache-control': 'max-age=30' }, ttlOverride: true })
      ).toEqual(STORABLE)
    })

    it('does not override no-store', () => {
      expect(check({ response: { 'cache-control': 'no-store' }, ttlOverride: true })).toEqual(
        not('no-store')
      )
      expect(check({ request: { 'cache-control': 'no-store' }, ttlOverride: true })).toEqual(
        not('no-store')
      )
    })
  })

  describe('reason precedence', () => {
    it('no-store before private before authorization before set-cookie before vary', () => {
      const all = {
        'cache-control': 'no-store, private, max-age=60',
        'set-cookie': 'a=b',
        vary: '*',
      }
      const auth = { authorization: 'x' }
      expect(check({ request: auth, response: all })).toEqual(not('no-store'))
      expect(
        check({ request: auth, response: { ...all, 'cache-control': 'private, max-age=60' } })
      ).toEqual(not('private'))
      expect(check({ request: auth, response: { ...all, 'cache-control': 'max-age=60' } })).toEqual(
        not('authorization')
      )
      expect(check({ response: { ...all, 'cache-control': 'max-age=60' } })).toEqual(
        not('set-cookie')
      )
      expect(check({ response: { vary: '*', 'cache-control': 'no-cache' } })).toEqual(
        not('vary-star')
      )
    })
  })
})

describe('malformed directives (the strictest reading wins)', () => {
  it.each([
    ['private max-age=0', 'private'],
    ['no-store;', 'no-store'],
    ['no-cache; no-store', 'no-store'],
    ['private;', 'private'],
    ['max-age=60 foo', 'malformed-directives'],
    ['max-age=60;', 'malformed-directives'],
    ['max-age =60', 'malformed-directives'],
    ['max-age="60', 'malformed-directives'],
  ] as const)('%s with Last-Modified and a route ttl: %s', (value, reason) => {
    const response = { 'cache-control': value, 'last-modified': PAST, expires: FUTURE }
    expect(check({ response })).toEqual(not(reason))
    expect(check({ response, ttlOverride: true })).toEqual(not(reason))
  })

  it('an unparseable Surrogate-Control means not stored', () => {
    const response = { 'cache-control': 'max-age=60', 'surrogate-control': 'max-age=60 x' }
    expect(check({ response })).toEqual(not('malformed-directives'))
  })

  it('an invalid CDN-Cache-Control is ignored: Cache-Control decides (RFC 9213 §2.1)', () => {
    const invalid = 'max-age=60;no-store garbage'
    expect(
      check({ response: { 'cache-control': 'max-age=60', 'cdn-cache-control': invalid } })
    ).toEqual(STORABLE)
    expect(
      check({ response: { 'cache-control': 'private', 'cdn-cache-control': invalid } })
    ).toEqual(not('private'))
    expect(
      check({ response: { 'cache-control': 'max-age=60 x', 'cdn-cache-control': invalid } })
    ).toEqual(not('malformed-directives'))
  })

  it('a valid CDN-Cache-Control replaces Cache-Control and Expires (RFC 9213 §2.2)', () => {
    expect(
      check({ response: { 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=60' } })
    ).toEqual(STORABLE)
    expect(
      check({ response: { 'cache-control': 'max-age=60', 'cdn-cache-control': 'private' } })
    ).toEqual(not('private'))
    // Expires does not count as explicit freshness under a targeted field.
    expect(check({ response: { expires: FUTURE, 'cdn-cache-control': 'public' } })).toEqual(
      not('no-freshness')
    )
  })
})

describe('responseRefusesSharing', () => {
  const refuses = (headers: Record<string, string>, status = 200) => {
    const h = new Headers(headers)
    return responseRefusesSharing(status, h, responseDirectives(h, TARGETED))
  }

  it('is true for what a shared copy must never become', () => {
    expect(refuses({ 'cache-control': 'private, max-age=60' })).toBe(true)
    expect(refuses({ 'cache-control': 'no-store' })).toBe(true)
    expect(refuses({ 'cache-control': 'max-age=60', 'set-cookie': 'a=b' })).toBe(true)
    expect(refuses({ 'cache-control': 'max-age=60', vary: '*' })).toBe(true)
    expect(refuses({ 'cache-control': 'max-age=60 private' })).toBe(true)
  })

  it('is false for an answer that is merely not storable now', () => {
    expect(refuses({})).toBe(false)
    expect(refuses({}, 503)).toBe(false)
    expect(refuses({ 'cache-control': 'max-age=60' })).toBe(false)
  })
})
