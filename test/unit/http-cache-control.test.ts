import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  parseCacheControl,
  parseDeltaSeconds,
  responseDirectives,
} from '../../src/http/cache-control'
import { checkStorable } from '../../src/http/storability'

const MAX_DELTA = 2_147_483_648 // 2^31, RFC 9111 §1.2.2

describe('parseDeltaSeconds (RFC 9111 §1.2.2)', () => {
  it('parses non-negative integers', () => {
    expect(parseDeltaSeconds('0')).toBe(0)
    expect(parseDeltaSeconds('5')).toBe(5)
    expect(parseDeltaSeconds('3600')).toBe(3600)
    expect(parseDeltaSeconds('007')).toBe(7)
  })

  it('returns undefined for a missing or invalid value', () => {
    for (const value of [
      undefined,
      '',
      'abc',
      '-1',
      '+5',
      '1.5',
      '1e3',
      ' 5',
      '5 ',
      '0x10',
      '5s',
      '٥',
    ]) {
      expect(parseDeltaSeconds(value), JSON.stringify(value)).toBeUndefined()
    }
  })

  it('clamps values greater than 2^31 to 2^31', () => {
    expect(parseDeltaSeconds('2147483647')).toBe(2_147_483_647)
    expect(parseDeltaSeconds('2147483648')).toBe(MAX_DELTA)
    expect(parseDeltaSeconds('2147483649')).toBe(MAX_DELTA)
    expect(parseDeltaSeconds('99999999999999999999999999999')).toBe(MAX_DELTA)
    expect(parseDeltaSeconds('9'.repeat(400))).toBe(MAX_DELTA)
  })
})

describe('parseCacheControl', () => {
  describe('empty input', () => {
    it.each([null, undefined, ''])('%j gives the all-false default', (value) => {
      const cc = parseCacheControl(value)
      expect(cc).toEqual({
        noStore: false,
        noCache: false,
        noCacheFields: [],
        private: false,
        privateFields: [],
        public: false,
        mustRevalidate: false,
        proxyRevalidate: false,
        immutable: false,
        malformed: false,
      })
      expect(cc.maxAge).toBeUndefined()
      expect(cc.sMaxAge).toBeUndefined()
      expect(cc.staleWhileRevalidate).toBeUndefined()
      expect(cc.staleIfError).toBeUndefined()
    })

    it('whitespace and commas only give the default', () => {
      for (const value of [' ', ',', ' , , ', '\t,']) {
        const cc = parseCacheControl(value)
        expect(cc.maxAge, value).toBeUndefined()
        expect(cc.noStore, value).toBe(false)
        expect(cc.noCache, value).toBe(false)
      }
    })
  })

  describe('boolean directives', () => {
    it('recognises every boolean directive', () => {
      const cc = parseCacheControl(
        'no-store, no-cache, private, public, must-revalidate, proxy-revalidate, immutable'
      )
      expect(cc.noStore).toBe(true)
      expect(cc.noCache).toBe(true)
      expect(cc.noCacheFields).toEqual([])
      expect(cc.private).toBe(true)
      expect(cc.privateFields).toEqual([])
      expect(cc.public).toBe(true)
      expect(cc.mustRevalidate).toBe(true)
      expect(cc.proxyRevalidate).toBe(true)
      expect(cc.immutable).toBe(true)
    })

    it('leaves unmentioned directives false', () => {
      const cc = parseCacheControl('public')
      expect(cc.public).toBe(true)
      expect(cc.noStore).toBe(false)
      expect(cc.noCache).toBe(false)
      expect(cc.private).toBe(false)
      expect(cc.mustRevalidate).toBe(false)
      expect(cc.proxyRevalidate).toBe(false)
      expect(cc.immutable).toBe(false)
    })

    it('is case-insensitive in directive names (RFC 9111 §5.2)', () => {
      const cc = parseCacheControl(
        'No-Store, NO-CACHE, Private, PUBLIC, Must-Revalidate, Proxy-Revalidate, IMMUTABLE, MAX-AGE=5, S-MaxAge=6, Stale-While-Revalidate=7, STALE-IF-ERROR=8'
      )
      expect(cc.noStore).toBe(true)
      expect(cc.noCache).toBe(true)
      expect(cc.private).toBe(true)
      expect(cc.public).toBe(true)
      expect(cc.mustRevalidate).toBe(true)
      expect(cc.proxyRevalidate).toBe(true)
      expect(cc.immutable).toBe(true)
      expect(cc.maxAge).toBe(5)
      expect(cc.sMaxAge).toBe(6)
      expect(cc.staleWhileRevalidate).toBe(7)
      expect(cc.staleIfError).toBe(8)
    })
  })

  describe('numeric directives', () => {
    it('parses max-age, s-maxage and the RFC 5861 directives', () => {
      const cc = parseCacheControl(
        'max-age=60, s-maxage=120, stale-while-revalidate=30, stale-if-error=86400'
      )
      expect(cc.maxAge).toBe(60)
      expect(cc.sMaxAge).toBe(120)
      expect(cc.staleWhileRevalidate).toBe(30)
      expect(cc.staleIfError).toBe(86400)
    })

    it('accepts max-age=0', () => {
      expect(parseCacheControl('max-age=0').maxAge).toBe(0)
      expect(parseCacheControl('s-maxage=0').sMaxAge).toBe(0)
    })

    it('accepts the quoted-string form of an argument (RFC 9111 §5.2)', () => {
      const cc = parseCacheControl('max-age="60", s-maxage="7", stale-if-error="9"')
      expect(cc.maxAge).toBe(60)
      expect(cc.sMaxAge).toBe(7)
      expect(cc.staleIfError).toBe(9)
    })

    it.each([
      ['max-age=abc'],
      ['max-age=-1'],
      ['max-age=1.5'],
      ['max-age='],
      ['max-age=""'],
      ['max-age="abc"'],
      ['max-age=5s'],
    ])('an invalid max-age (%s) makes the response stale: maxAge 0', (value) => {
      expect(parseCacheControl(value).maxAge).toBe(0)
    })

    it.each([['s-maxage=abc'], ['s-maxage=-1'], ['s-maxage=']])(
      'an invalid s-maxage (%s) gives sMaxAge 0',
      (value) => {
        expect(parseCacheControl(value).sMaxAge).toBe(0)
      }
    )

    it('a bare max-age without an argument is treated as invalid (0)', () => {
      expect(parseCacheControl('max-age').maxAge).toBe(0)
      expect(parseCacheControl('s-maxage').sMaxAge).toBe(0)
    })

    it.each([
      ['stale-while-revalidate=abc'],
      ['stale-while-revalidate=-5'],
      ['stale-while-revalidate'],
      ['stale-while-revalidate='],
    ])('an invalid stale-while-revalidate (%s) is ignored', (value) => {
      const cc = parseCacheControl(`max-age=10, ${value}`)
      expect(cc.staleWhileRevalidate).toBeUndefined()
      expect(cc.maxAge).toBe(10)
    })

    it('an invalid stale-if-error is ignored', () => {
      expect(parseCacheControl('stale-if-error=x').staleIfError).toBeUndefined()
      expect(parseCacheControl('stale-if-error').staleIfError).toBeUndefined()
    })

    it('an invalid stale-while-revalidate does not block a later valid one', () => {
      expect(
        parseCacheControl('stale-while-revalidate=x, stale-while-revalidate=30')
          .staleWhileRevalidate
      ).toBe(30)
    })

    it('clamps huge values to 2^31', () => {
      const cc = parseCacheControl(
        'max-age=99999999999999999999, s-maxage=4294967296, stale-while-revalidate=1' +
          '0'.repeat(30) +
          ', stale-if-error=2147483649'
      )
      expect(cc.maxAge).toBe(MAX_DELTA)
      expect(cc.sMaxAge).toBe(MAX_DELTA)
      expect(cc.staleWhileRevalidate).toBe(MAX_DELTA)
      expect(cc.staleIfError).toBe(MAX_DELTA)
    })
  })

  describe('duplicated directives (RFC 9111 §4.2.1)', () => {
    it('a duplicated max-age makes the response stale: maxAge 0', () => {
      expect(parseCacheControl('max-age=60, max-age=120').maxAge).toBe(0)
      expect(parseCacheControl('max-age=60, max-age=60').maxAge).toBe(0)
      expect(parseCacheControl('max-age=60, public, MAX-AGE=120').maxAge).toBe(0)
    })

    it('a duplicated s-maxage makes the response stale: sMaxAge 0', () => {
      expect(parseCacheControl('s-maxage=60, s-maxage=5').sMaxAge).toBe(0)
    })

    it('a max-age duplicated across two combined field lines is also 0', () => {
      // Headers.get joins repeated field lines with ", ".
      const headers = new Headers()
      headers.append('cache-control', 'public, max-age=60')
      headers.append('cache-control', 'max-age=3600')
      expect(parseCacheControl(headers.get('cache-control')).maxAge).toBe(0)
      expect(parseCacheControl(headers.get('cache-control')).public).toBe(true)
    })

    it('stale-while-revalidate and stale-if-error keep the first occurrence', () => {
      const cc = parseCacheControl(
        'stale-while-revalidate=10, stale-while-revalidate=20, stale-if-error=1, stale-if-error=2'
      )
      expect(cc.staleWhileRevalidate).toBe(10)
      expect(cc.staleIfError).toBe(1)
    })

    it('max-age with a different s-maxage is not a duplicate', () => {
      const cc = parseCacheControl('max-age=60, s-maxage=120')
      expect(cc.maxAge).toBe(60)
      expect(cc.sMaxAge).toBe(120)
    })

    it('restrictive directives count wherever they appear', () => {
      const cc = parseCacheControl('public, max-age=60, no-store, no-cache, private')
      expect(cc.noStore).toBe(true)
      expect(cc.noCache).toBe(true)
      expect(cc.private).toBe(true)
    })
  })

  describe('field-name lists in no-cache and private (RFC 9111 §5.2.2.4, §5.2.2.7)', () => {
    it('no-cache="Set-Cookie, X-A" lists lower-cased fields and is not unqualified no-cache', () => {
      const cc = parseCacheControl('no-cache="Set-Cookie, X-A", max-age=60')
      expect(cc.noCache).toBe(false)
      expect(cc.noCacheFields).toEqual(['set-cookie', 'x-a'])
      expect(cc.maxAge).toBe(60)
    })

    it('private="x" lists the field and is not unqualified private', () => {
      const cc = parseCacheControl('private="X-Secret", max-age=60')
      expect(cc.private).toBe(false)
      expect(cc.privateFields).toEqual(['x-secret'])
      expect(cc.maxAge).toBe(60)
    })

    it('accepts the token form of a single field name', () => {
      const cc = parseCacheControl('no-cache=Set-Cookie, private=X-User')
      expect(cc.noCache).toBe(false)
      expect(cc.noCacheFields).toEqual(['set-cookie'])
      expect(cc.private).toBe(false)
      expect(cc.privateFields).toEqual(['x-user'])
    })

    it('unqualified no-cache and private set the flags and leave the lists empty', () => {
      const cc = parseCacheControl('no-cache, private')
      expect(cc.noCache).toBe(true)
      expect(cc.noCacheFields).toEqual([])
      expect(cc.private).toBe(true)
      expect(cc.privateFields).toEqual([])
    })

    it('qualified and unqualified forms together set both', () => {
      const cc = parseCacheControl('no-cache="set-cookie", no-cache')
      expect(cc.noCache).toBe(true)
      expect(cc.noCacheFields).toEqual(['set-cookie'])
      const p = parseCacheControl('private, private="x-a"')
      expect(p.private).toBe(true)
      expect(p.privateFields).toEqual(['x-a'])
    })

    it('accumulates fields from repeated qualified directives', () => {
      const cc = parseCacheControl('no-cache="a", no-cache="B, c", private="x", private="y"')
      expect(cc.noCacheFields).toEqual(['a', 'b', 'c'])
      expect(cc.privateFields).toEqual(['x', 'y'])
    })

    it('trims whitespace and drops empty members inside the list', () => {
      const cc = parseCacheControl('no-cache="  a ,, ,b  ,"')
      expect(cc.noCacheFields).toEqual(['a', 'b'])
    })

    it('a comma inside the quoted list does not split the directive list', () => {
      const cc = parseCacheControl('private="a, max-age=99", s-maxage=5')
      expect(cc.privateFields).toEqual(['a', 'max-age=99'])
      expect(cc.maxAge).toBeUndefined()
      expect(cc.sMaxAge).toBe(5)
    })

    it('does not share list arrays between parses', () => {
      const a = parseCacheControl('no-cache="a"')
      const b = parseCacheControl('max-age=1')
      expect(a.noCacheFields).toEqual(['a'])
      expect(b.noCacheFields).toEqual([])
      expect(b.privateFields).toEqual([])
    })
  })

  describe('quoted strings (RFC 9110 §5.6.4)', () => {
    it('unescapes quoted-pairs', () => {
      const cc = parseCacheControl('private="a\\"b, c\\\\d, \\e", max-age=3')
      expect(cc.privateFields).toEqual(['a"b', 'c\\d', 'e'])
      expect(cc.maxAge).toBe(3)
    })

    it('an escaped quote does not terminate the string', () => {
      const cc = parseCacheControl('x-ext="foo\\", max-age=1", max-age=9')
      expect(cc.maxAge).toBe(9)
    })

    it('unknown directives with quoted arguments are skipped whole', () => {
      const cc = parseCacheControl('community="UCI, no-store", max-age=10')
      expect(cc.noStore).toBe(false)
      expect(cc.maxAge).toBe(10)
    })
  })

  describe('whitespace, empty members and unknown directives', () => {
    it('tolerates empty list members and OWS (RFC 9110 §5.6.1)', () => {
      const cc = parseCacheControl(', ,max-age=5,')
      expect(cc.maxAge).toBe(5)
      const cc2 = parseCacheControl('  public ,\t, max-age=5 ,  , immutable  ')
      expect(cc2.public).toBe(true)
      expect(cc2.maxAge).toBe(5)
      expect(cc2.immutable).toBe(true)
    })

    it('accepts members without spaces after commas', () => {
      const cc = parseCacheControl('public,max-age=5,s-maxage=6,must-revalidate')
      expect(cc.public).toBe(true)
      expect(cc.maxAge).toBe(5)
      expect(cc.sMaxAge).toBe(6)
      expect(cc.mustRevalidate).toBe(true)
    })

    it('ignores unknown directives, with or without arguments', () => {
      const cc = parseCacheControl(
        'foo, bar=baz, x-custom="a b", max-age=5, must-understand, no-transform, only-if-cached, min-fresh=3'
      )
      expect(cc.maxAge).toBe(5)
      expect(cc.noStore).toBe(false)
      expect(cc.noCache).toBe(false)
      expect(cc.private).toBe(false)
      expect(cc.public).toBe(false)
    })

    it('does not treat directive-name prefixes or suffixes as the directive', () => {
      const cc = parseCacheControl('no-store-ish, x-no-cache, publicity, private-ish, max-ages=5')
      expect(cc.noStore).toBe(false)
      expect(cc.noCache).toBe(false)
      expect(cc.public).toBe(false)
      expect(cc.private).toBe(false)
      expect(cc.maxAge).toBeUndefined()
    })
  })

  describe('malformed members are skipped without dropping later directives', () => {
    it.each([
      ['@@@, max-age=5', 5],
      ['max-age=5 6, s-maxage=7', undefined],
      ['"quoted", max-age=5', 5],
      ['=5, max-age=5', 5],
      ['{}, max-age=5', 5],
      ['public max-age=9, max-age=5', 5],
      ['max-age=5, ; ;, no-store', 5],
    ])('%s', (value, maxAge) => {
      const cc = parseCacheControl(value)
      expect(cc.maxAge).toBe(maxAge)
    })

    it('a malformed member between valid ones keeps both neighbours', () => {
      const cc = parseCacheControl('public, max-age 5 6, no-store, s-maxage=7')
      expect(cc.public).toBe(true)
      expect(cc.noStore).toBe(true)
      expect(cc.sMaxAge).toBe(7)
    })

    it('a value with two arguments is malformed and skipped', () => {
      const cc = parseCacheControl('max-age=5 6, s-maxage=7')
      expect(cc.maxAge).toBeUndefined()
      expect(cc.sMaxAge).toBe(7)
    })

    it('a trailing malformed member with no comma ends parsing without losing earlier ones', () => {
      const cc = parseCacheControl('max-age=5, no-store, @@@')
      expect(cc.maxAge).toBe(5)
      expect(cc.noStore).toBe(true)
    })

    it('does not loop forever on pathological input', () => {
      const cc = parseCacheControl(`${'@,'.repeat(10_000)}max-age=1`)
      expect(cc.maxAge).toBe(1)
    })

    it('is re-entrant across calls (sticky regex state is reset)', () => {
      parseCacheControl('max-age=5, @@@')
      expect(parseCacheControl('s-maxage=3').sMaxAge).toBe(3)
      parseCacheControl('no-cache="unterminated')
      expect(parseCacheControl('max-age=1').maxAge).toBe(1)
    })
  })
})

describe('parseCacheControl: further edge cases', () => {
  it('an escaped quote inside private="..." does not let no-store escape the string', () => {
    const cc = parseCacheControl('private="x\\", no-store", public')
    expect(cc.noStore).toBe(false)
    expect(cc.private).toBe(false)
    expect(cc.privateFields).toEqual(['x"', 'no-store'])
    expect(cc.public).toBe(true)
  })

  it('an invalid max-age followed by a valid one is still a duplicate: 0', () => {
    expect(parseCacheControl('max-age=abc, max-age=60').maxAge).toBe(0)
  })

  it('a duplicated s-maxage also zeroes max-age (stale on arrival)', () => {
    const cc = parseCacheControl('s-maxage=60, max-age=30, s-maxage=10')
    expect(cc.sMaxAge).toBe(0)
    expect(cc.maxAge).toBe(0)
  })

  it('a duplicated max-age makes the whole response stale, s-maxage included', () => {
    const cc = parseCacheControl('s-maxage=60, max-age=30, max-age=10')
    expect(cc.maxAge).toBe(0)
    expect(cc.sMaxAge).toBe(0)
  })
})

describe('parseCacheControl: malformed members with quoted commas', () => {
  it('skips a malformed member up to the next comma outside its quotes', () => {
    const cc = parseCacheControl('@x="a,s-maxage=99999", max-age=5')
    expect(cc.sMaxAge).toBeUndefined()
    expect(cc.maxAge).toBe(5)
  })
})

describe('parseCacheControl: unterminated quotes', () => {
  it('reads private="x (no closing quote) as unqualified private, the restrictive reading', () => {
    const cc = parseCacheControl('private="x')
    expect(cc.private).toBe(true)
    expect(cc.privateFields).toEqual([])
  })
})

describe('parseCacheControl: the strictest reading of a malformed value', () => {
  it.each([
    ['private max-age=0', { private: true }],
    ['no-store;', { noStore: true }],
    ['no-cache; no-store', { noStore: true, noCache: true }],
    ['private;', { private: true }],
    ['max-age=60 PRIVATE', { private: true }],
    ['max-age=60;no-store', { noStore: true }],
    ['public, max-age=60, private="x', { private: true }],
  ])('%s', (value, flags) => {
    const cc = parseCacheControl(value)
    expect(cc.malformed).toBe(true)
    expect(cc).toMatchObject(flags)
  })

  it.each(['max-age=60', 'max-age=60,', ',max-age=60', 'max-age=60,, public', 'no-cache="a, b"'])(
    '%s is clean',
    (value) => {
      expect(parseCacheControl(value).malformed).toBe(false)
    }
  )
})

const TARGETED = ['cloudflare-cdn-cache-control', 'cdn-cache-control']
/** Values a Headers object accepts (no NUL, CR or LF). */
const headerValue = (maxLength: number) =>
  fc.string({ unit: 'binary-ascii', maxLength }).map((s) => s.replace(/[\0\r\n]/g, ''))

const directives = (headers: Record<string, string>, targeted: readonly string[] = TARGETED) =>
  responseDirectives(new Headers(headers), targeted)

describe('responseDirectives', () => {
  it('adds the restrictive directives of Surrogate-Control', () => {
    const cc = directives({ 'cache-control': 'max-age=60', 'surrogate-control': 'no-store' })
    expect(cc.noStore).toBe(true)
    expect(cc.maxAge).toBe(60)
    expect(cc.targeted).toBeUndefined()
  })

  it('reads Pragma: no-cache only without Cache-Control', () => {
    expect(directives({ pragma: 'no-cache' }).noCache).toBe(true)
    expect(directives({ pragma: 'no-cache', 'cache-control': 'max-age=5' }).noCache).toBe(false)
  })

  it('a malformed Surrogate-Control makes the whole reading malformed', () => {
    const cc = directives({ 'cache-control': 'max-age=60', 'surrogate-control': 'private x' })
    expect(cc.malformed).toBe(true)
    expect(cc.private).toBe(true)
  })
})

describe('responseDirectives: RFC 9213 targeted fields', () => {
  it('the first valid field of the target list replaces Cache-Control, Pragma and Expires', () => {
    const cc = directives({
      'cache-control': 'no-store, max-age=5',
      pragma: 'no-cache',
      'cdn-cache-control': 'max-age=600',
      'cloudflare-cdn-cache-control': 'max-age=60, stale-while-revalidate=30',
    })
    expect(cc).toMatchObject({
      targeted: 'cloudflare-cdn-cache-control',
      maxAge: 60,
      staleWhileRevalidate: 30,
      noStore: false,
      noCache: false,
      malformed: false,
    })
    expect(
      directives({ 'cache-control': 'max-age=5', 'cdn-cache-control': 'max-age=600' })
    ).toMatchObject({ targeted: 'cdn-cache-control', maxAge: 600 })
  })

  it('follows the configured list: fields not on it change nothing', () => {
    const headers = { 'cache-control': 'max-age=5', 'cdn-cache-control': 'no-store' }
    expect(directives(headers, [])).toMatchObject({ maxAge: 5, noStore: false })
    expect(directives(headers, ['example-cache-control'])).toMatchObject({ maxAge: 5 })
    expect(
      directives({ ...headers, 'example-cache-control': 'max-age=9' }, ['example-cache-control'])
    ).toMatchObject({ maxAge: 9, targeted: 'example-cache-control' })
  })

  it.each([
    ['empty', ''],
    ['whitespace', '   '],
    ['a trailing comma', 'max-age=60,'],
    ['a capital', 'Max-Age=60'],
    ['garbage after a member', 'max-age=60;no-store garbage'],
    ['a space before =', 'max-age =60'],
    ['an unterminated string', 'private="x'],
    ['a bad boolean', 'no-store=?2'],
  ])(
    'an invalid (%s) field is ignored as a whole: the next one, then Cache-Control',
    (_, value) => {
      const cc = directives({ 'cache-control': 'max-age=5', 'cdn-cache-control': value })
      expect(cc).toMatchObject({ maxAge: 5, noStore: false })
      expect(cc.targeted).toBeUndefined()
      expect(
        directives({
          'cloudflare-cdn-cache-control': value,
          'cdn-cache-control': 'max-age=7',
          'cache-control': 'max-age=5',
        })
      ).toMatchObject({ maxAge: 7, targeted: 'cdn-cache-control' })
    }
  )

  it('falling back keeps Cache-Control strict: a malformed one is still malformed', () => {
    const cc = directives({ 'cache-control': 'private max-age=60', 'cdn-cache-control': 'x y' })
    expect(cc).toMatchObject({ malformed: true, private: true })
    expect(cc.targeted).toBeUndefined()
  })

  it('reads every directive it supports', () => {
    expect(
      directives({
        'cdn-cache-control':
          'public, immutable, must-revalidate, proxy-revalidate, s-maxage=9, max-age=8, ' +
          'stale-while-revalidate=7, stale-if-error=6, no-store',
      })
    ).toMatchObject({
      public: true,
      immutable: true,
      mustRevalidate: true,
      proxyRevalidate: true,
      sMaxAge: 9,
      maxAge: 8,
      staleWhileRevalidate: 7,
      staleIfError: 6,
      noStore: true,
    })
  })

  it('private / no-cache: Boolean true is unqualified, a String names fields', () => {
    expect(directives({ 'cdn-cache-control': 'private' }).private).toBe(true)
    expect(directives({ 'cdn-cache-control': 'private="Set-Cookie, x-a"' })).toMatchObject({
      private: false,
      privateFields: ['set-cookie', 'x-a'],
    })
    expect(directives({ 'cdn-cache-control': 'no-cache="x-b"' })).toMatchObject({
      noCache: false,
      noCacheFields: ['x-b'],
    })
    // Anything else is read unqualified: the restrictive reading.
    for (const value of ['private=x', 'private=1', 'private=""', 'private="a b"', 'private=(a b)'])
      expect(directives({ 'cdn-cache-control': value }).private).toBe(true)
    expect(directives({ 'cdn-cache-control': 'no-cache=?0' }).noCache).toBe(true)
  })

  it('a max-age that is not a non-negative Integer makes the response stale (not coerced)', () => {
    for (const value of [
      'max-age=1.5',
      'max-age="60"',
      'max-age=-1',
      'max-age=a',
      'max-age',
      'max-age=(60)',
    ])
      expect(directives({ 'cdn-cache-control': value, 'cache-control': 'max-age=60' }).maxAge).toBe(
        0
      )
    expect(directives({ 'cdn-cache-control': 's-maxage=?1' }).sMaxAge).toBe(0)
    expect(directives({ 'cdn-cache-control': 'max-age=060' }).maxAge).toBe(60)
    expect(directives({ 'cdn-cache-control': 'max-age=999999999999999' }).maxAge).toBe(MAX_DELTA)
  })

  it('bad RFC 5861 windows are ignored; public/immutable need Boolean true', () => {
    expect(
      directives({ 'cdn-cache-control': 'stale-while-revalidate=1.5, stale-if-error=-1' })
    ).toMatchObject({ staleWhileRevalidate: undefined, staleIfError: undefined })
    expect(directives({ 'cdn-cache-control': 'public=?0, immutable=1' })).toMatchObject({
      public: false,
      immutable: false,
    })
    // Restrictive directives count whatever their value.
    expect(directives({ 'cdn-cache-control': 'no-store=?0, must-revalidate=5' })).toMatchObject({
      noStore: true,
      mustRevalidate: true,
    })
  })

  it('parameters are ignored; a repeated key takes its last value (RFC 8941)', () => {
    expect(directives({ 'cdn-cache-control': 'max-age=60;no-store' })).toMatchObject({
      maxAge: 60,
      noStore: false,
    })
    expect(directives({ 'cdn-cache-control': 'max-age=60, max-age=5' }).maxAge).toBe(5)
  })

  it('an unknown directive alone is a valid field: Cache-Control is ignored (RFC 9213 §3.1)', () => {
    expect(directives({ 'cache-control': 'no-store', 'cdn-cache-control': 'none' })).toMatchObject({
      noStore: false,
      targeted: 'cdn-cache-control',
    })
  })

  it('Surrogate-Control restrictions still apply on top of a targeted field', () => {
    expect(
      directives({ 'cdn-cache-control': 'max-age=60', 'surrogate-control': 'no-store' }).noStore
    ).toBe(true)
  })

  it('fast-check: any header value never throws, and an invalid field never counts', () => {
    fc.assert(
      fc.property(headerValue(60), (value) => {
        const cc = directives({ 'cache-control': 'max-age=5', 'cdn-cache-control': value })
        if (cc.targeted === undefined) expect(cc.maxAge).toBe(5)
        else expect(cc.targeted).toBe('cdn-cache-control')
      })
    )
  })

  it('fast-check: an invalid targeted field never makes a private Cache-Control shareable', () => {
    const junk = fc.oneof(
      fc.constantFrom('max-age=60;no-store garbage', 'public,', 'Public', 'max-age=60 x', '"x"'),
      headerValue(30).map((s) => `public, max-age=60 ${s}!`)
    )
    fc.assert(
      fc.property(
        junk,
        fc.constantFrom('private', 'no-store', 'private max-age=60'),
        (value, cc) => {
          const read = directives({ 'cache-control': cc, 'cdn-cache-control': value })
          expect(read.targeted).toBeUndefined()
          expect(read.private || read.noStore).toBe(true)
        }
      )
    )
  })
})

describe('parseCacheControl: properties (fast-check)', () => {
  const PIECES = [
    'private',
    'no-store',
    'no-cache',
    'public',
    'max-age=60',
    's-maxage=60',
    'must-revalidate',
    'stale-while-revalidate=5',
    'x-ext',
    'PRIVATE',
    'No-Store',
    '=',
    '"',
    '\\',
    ',',
    ', ',
    ';',
    ' ',
    '\t',
    '60',
    'a="b"',
    'private="set-cookie"',
  ]
  const value = fc.array(fc.constantFrom(...PIECES), { maxLength: 12 }).map((p) => p.join(''))
  const storable = (cc: string) =>
    checkStorable({
      requestHeaders: new Headers(),
      requestCacheControl: parseCacheControl(null),
      status: 200,
      responseHeaders: new Headers({
        'cache-control': cc,
        'last-modified': 'Wed, 01 Jan 2025 00:00:00 GMT',
      }),
      cacheControl: parseCacheControl(cc),
      ttlOverride: true,
      keyHeaders: [],
    }).storable
  const TOKEN_CHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/

  it('never throws, on any string', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => void parseCacheControl(s)),
      {
        numRuns: 1000,
      }
    )
  })

  it('a malformed value is never storable', () => {
    fc.assert(
      fc.property(value, (cc) => {
        if (parseCacheControl(cc).malformed) expect(storable(cc)).toBe(false)
      }),
      { numRuns: 2000 }
    )
  })

  it('a bare private or no-store token anywhere makes it unstorable (values without = or quotes)', () => {
    fc.assert(
      fc.property(value, (cc) => {
        if (/[="]/.test(cc)) return
        const words = cc.split(new RegExp(`(?!${TOKEN_CHAR.source}).`)).map((w) => w.toLowerCase())
        if (words.includes('private') || words.includes('no-store'))
          expect(storable(cc)).toBe(false)
      }),
      { numRuns: 2000 }
    )
  })

  it('adding a restrictive token, with any separator, never makes a value more shareable', () => {
    fc.assert(
      fc.property(
        value,
        fc.constantFrom('private', 'no-store'),
        fc.constantFrom(', ', ',', ' ', ';', '\t'),
        fc.boolean(),
        (cc, token, separator, before) => {
          const stricter = before ? `${token}${separator}${cc}` : `${cc}${separator}${token}`
          expect(storable(stricter)).toBe(false)
        }
      ),
      { numRuns: 2000 }
    )
  })
})
