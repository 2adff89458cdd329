import fc from 'fast-check'
import { describe, it, expect } from 'vitest'
import { parseCacheControl, responseDirectives } from '../../src/http/cache-control'
import {
  correctedInitialAge,
  currentAge,
  freshnessLifetime,
  isHeuristicallyCacheable,
  parseHttpDate,
} from '../../src/http/freshness'

const HEURISTIC = { fraction: 0.1, maxSeconds: 86_400 }
const NOW = Date.UTC(2024, 0, 15, 12, 0, 0) // 2024-01-15T12:00:00Z
const httpDate = (ms: number) => new Date(ms).toUTCString()

function lifetime(
  headers: Record<string, string>,
  options: { status?: number; heuristic?: typeof HEURISTIC; responseTime?: number } = {}
) {
  const h = new Headers(headers)
  return freshnessLifetime(
    options.status ?? 200,
    h,
    parseCacheControl(h.get('cache-control')),
    options.heuristic ?? HEURISTIC,
    options.responseTime ?? NOW
  )
}

describe('parseHttpDate (RFC 9110 §5.6.7)', () => {
  const expected = Date.UTC(1994, 10, 6, 8, 49, 37)

  it('parses IMF-fixdate', () => {
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT')).toBe(expected)
  })

  it('parses the obsolete RFC 850 format', () => {
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT')).toBe(expected)
  })

  it('parses the obsolete asctime format (as UTC)', () => {
    expect(parseHttpDate('Sun Nov  6 08:49:37 1994')).toBe(expected)
  })

  it('round-trips toUTCString', () => {
    expect(parseHttpDate(httpDate(NOW))).toBe(NOW)
  })

  it.each(['garbage', 'not a date', 'Sun, 99 Foo 1994 99:99:99 GMT'])(
    'returns undefined for %j',
    (value) => {
      expect(parseHttpDate(value)).toBeUndefined()
    }
  )

  it('returns undefined for null, undefined and empty', () => {
    expect(parseHttpDate(null)).toBeUndefined()
    expect(parseHttpDate(undefined)).toBeUndefined()
    expect(parseHttpDate('')).toBeUndefined()
  })

  // Date.parse would accept bare numbers as years ("3600" → 3600-01-01), ISO dates and more.
  // None of these is an HTTP-date (RFC 9110 §5.6.7), so they must be rejected.
  it('rejects values that are not HTTP-dates, such as a bare number', () => {
    expect(parseHttpDate('3600')).toBeUndefined()
    expect(parseHttpDate('0')).toBeUndefined()
    expect(parseHttpDate('2030-01-01')).toBeUndefined()
  })
})

describe('isHeuristicallyCacheable (RFC 9110 §15.1)', () => {
  it.each([200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501])('%i is', (status) => {
    expect(isHeuristicallyCacheable(status)).toBe(true)
  })

  it.each([201, 302, 303, 307, 400, 401, 403, 500, 502, 503])('%i is not', (status) => {
    expect(isHeuristicallyCacheable(status)).toBe(false)
  })
})

describe('freshnessLifetime (RFC 9111 §4.2.1)', () => {
  const expires = httpDate(NOW + 300_000)
  const lastModified = httpDate(NOW - 1_000_000_000)

  it('s-maxage wins over everything else', () => {
    expect(
      lifetime({
        'cache-control': 'max-age=60, s-maxage=120',
        date: httpDate(NOW),
        expires,
        'last-modified': lastModified,
      })
    ).toEqual({ seconds: 120, source: 's-maxage' })
  })

  it('s-maxage=0 still wins over a positive max-age', () => {
    expect(lifetime({ 'cache-control': 's-maxage=0, max-age=60' })).toEqual({
      seconds: 0,
      source: 's-maxage',
    })
  })

  it('max-age wins over Expires and heuristics', () => {
    expect(
      lifetime({
        'cache-control': 'max-age=60',
        date: httpDate(NOW),
        expires,
        'last-modified': lastModified,
      })
    ).toEqual({ seconds: 60, source: 'max-age' })
  })

  it('max-age=0 is explicit and wins over Expires', () => {
    expect(lifetime({ 'cache-control': 'max-age=0', date: httpDate(NOW), expires })).toEqual({
      seconds: 0,
      source: 'max-age',
    })
  })

  it('duplicated max-age gives a zero lifetime', () => {
    expect(lifetime({ 'cache-control': 'max-age=60, max-age=60', expires })).toEqual({
      seconds: 0,
      source: 'max-age',
    })
  })

  it('Expires − Date when there is no max-age or s-maxage', () => {
    expect(lifetime({ date: httpDate(NOW), expires })).toEqual({ seconds: 300, source: 'expires' })
  })

  it('Expires − Date uses the origin Date, not the response time (clock skew)', () => {
    // Origin clock is 1h behind ours: Date says NOW-1h, Expires NOW-1h+300s.
    const date = NOW - 3_600_000
    expect(
      lifetime({ date: httpDate(date), expires: httpDate(date + 300_000) }, { responseTime: NOW })
    ).toEqual({ seconds: 300, source: 'expires' })
  })

  it('Expires wins over the heuristic', () => {
    expect(lifetime({ date: httpDate(NOW), expires, 'last-modified': lastModified })).toMatchObject(
      { source: 'expires', seconds: 300 }
    )
  })

  it('Expires without Date is measured from the response time', () => {
    expect(lifetime({ expires }, { responseTime: NOW })).toEqual({
      seconds: 300,
      source: 'expires',
    })
    expect(lifetime({ expires }, { responseTime: NOW + 100_000 })).toEqual({
      seconds: 200,
      source: 'expires',
    })
  })

  it('Expires with an unparsable Date is measured from the response time', () => {
    expect(lifetime({ date: 'garbage', expires }, { responseTime: NOW })).toEqual({
      seconds: 300,
      source: 'expires',
    })
  })

  it('Expires in the past gives 0, never negative', () => {
    expect(lifetime({ date: httpDate(NOW), expires: httpDate(NOW - 60_000) })).toEqual({
      seconds: 0,
      source: 'expires',
    })
  })

  it('Expires equal to Date gives 0', () => {
    expect(lifetime({ date: httpDate(NOW), expires: httpDate(NOW) })).toEqual({
      seconds: 0,
      source: 'expires',
    })
  })

  it('rounds a fractional Expires − Date down', () => {
    // Date.parse of toUTCString has whole seconds; use response time with ms for the fraction.
    expect(lifetime({ expires }, { responseTime: NOW + 500 })).toEqual({
      seconds: 299,
      source: 'expires',
    })
  })

  it.each(['0', '-1', 'garbage', 'never'])(
    'an invalid Expires (%j) means already expired (RFC 9111 §5.3)',
    (value) => {
      expect(
        lifetime({ date: httpDate(NOW), expires: value, 'last-modified': lastModified })
      ).toEqual({ seconds: 0, source: 'expires' })
    }
  )

  // `Expires: 3600` (a common mistake for "one hour") is not an HTTP-date; RFC 9111 §5.3 says a
  // cache MUST treat an invalid Expires as already expired. Date.parse reads it as the year 3600, so
  // the response is fresh for ~1600 years.
  it('a bare-number Expires such as "3600" is invalid and means already expired', () => {
    expect(lifetime({ date: httpDate(NOW), expires: '3600' })).toEqual({
      seconds: 0,
      source: 'expires',
    })
  })

  describe('heuristic freshness (RFC 9111 §4.2.2)', () => {
    it('is a fraction of Date − Last-Modified', () => {
      expect(
        lifetime({ date: httpDate(NOW), 'last-modified': httpDate(NOW - 10_000_000) })
      ).toEqual({ seconds: 1000, source: 'heuristic' })
    })

    it('is capped by maxSeconds', () => {
      expect(
        lifetime(
          { date: httpDate(NOW), 'last-modified': lastModified },
          {
            heuristic: { fraction: 0.1, maxSeconds: 3600 },
          }
        )
      ).toEqual({ seconds: 3600, source: 'heuristic' })
    })

    it('uses the response time when Date is absent', () => {
      expect(
        lifetime({ 'last-modified': httpDate(NOW - 20_000_000) }, { responseTime: NOW })
      ).toEqual({ seconds: 2000, source: 'heuristic' })
    })

    it('rounds down', () => {
      expect(lifetime({ date: httpDate(NOW), 'last-modified': httpDate(NOW - 15_000) })).toEqual({
        seconds: 1,
        source: 'heuristic',
      })
    })

    it('a Last-Modified in the future gives 0', () => {
      expect(lifetime({ date: httpDate(NOW), 'last-modified': httpDate(NOW + 60_000) })).toEqual({
        seconds: 0,
        source: 'heuristic',
      })
    })

    it('fraction 0 gives 0', () => {
      expect(
        lifetime(
          { date: httpDate(NOW), 'last-modified': lastModified },
          {
            heuristic: { fraction: 0, maxSeconds: 86_400 },
          }
        )
      ).toEqual({ seconds: 0, source: 'heuristic' })
    })

    it.each([404, 410, 301, 204])('applies to heuristically cacheable status %i', (status) => {
      expect(
        lifetime({ date: httpDate(NOW), 'last-modified': httpDate(NOW - 10_000_000) }, { status })
      ).toEqual({ seconds: 1000, source: 'heuristic' })
    })

    it.each([302, 307, 403, 500])('does not apply to status %i', (status) => {
      expect(lifetime({ date: httpDate(NOW), 'last-modified': lastModified }, { status })).toEqual({
        seconds: 0,
        source: 'none',
      })
    })

    it('applies to any status marked public', () => {
      expect(
        lifetime(
          {
            'cache-control': 'public',
            date: httpDate(NOW),
            'last-modified': httpDate(NOW - 10_000_000),
          },
          { status: 302 }
        )
      ).toEqual({ seconds: 1000, source: 'heuristic' })
    })

    it('an unparsable Last-Modified gives no heuristic', () => {
      expect(lifetime({ date: httpDate(NOW), 'last-modified': 'yesterday-ish' })).toEqual({
        seconds: 0,
        source: 'none',
      })
    })
  })

  it('nothing at all gives 0 from "none"', () => {
    expect(lifetime({})).toEqual({ seconds: 0, source: 'none' })
    expect(lifetime({ 'cache-control': 'public', date: httpDate(NOW) })).toEqual({
      seconds: 0,
      source: 'none',
    })
  })
})

describe('correctedInitialAge (RFC 9111 §4.2.3)', () => {
  it('is 0 for an immediate response with no Age and Date equal to the response time', () => {
    expect(correctedInitialAge(new Headers({ date: httpDate(NOW) }), NOW, NOW)).toBe(0)
  })

  it('adds the response delay to the Age header', () => {
    expect(correctedInitialAge(new Headers({ age: '10' }), NOW - 3000, NOW)).toBe(13)
  })

  it('uses the apparent age from Date when larger', () => {
    const headers = new Headers({ age: '5', date: httpDate(NOW - 60_000) })
    expect(correctedInitialAge(headers, NOW - 1000, NOW)).toBe(60)
  })

  it('uses Age + delay when larger than the apparent age', () => {
    const headers = new Headers({ age: '100', date: httpDate(NOW - 60_000) })
    expect(correctedInitialAge(headers, NOW - 2000, NOW)).toBe(102)
  })

  it('a Date in the future (origin clock ahead) gives apparent age 0, not negative', () => {
    const headers = new Headers({ date: httpDate(NOW + 600_000) })
    expect(correctedInitialAge(headers, NOW, NOW)).toBe(0)
  })

  it('ignores an invalid Age header', () => {
    for (const age of ['abc', '-5', '1.5', '']) {
      expect(correctedInitialAge(new Headers({ age }), NOW - 2000, NOW), age).toBe(2)
    }
  })

  it('trims whitespace around Age', () => {
    expect(correctedInitialAge(new Headers({ age: ' 7 ' }), NOW, NOW)).toBe(7)
  })

  it('clamps a huge Age to 2^31', () => {
    expect(correctedInitialAge(new Headers({ age: '99999999999999' }), NOW, NOW)).toBe(2 ** 31)
  })

  it('rounds down', () => {
    expect(correctedInitialAge(new Headers(), NOW - 1999, NOW)).toBe(1)
  })

  it('a response time before the request time contributes no negative delay', () => {
    expect(correctedInitialAge(new Headers({ age: '3' }), NOW + 5000, NOW)).toBe(3)
  })
})

describe('currentAge (RFC 9111 §4.2.3)', () => {
  it('equals the initial age at storage time', () => {
    expect(currentAge(12, NOW, NOW)).toBe(12)
  })

  it('grows with the resident time, in whole seconds', () => {
    expect(currentAge(12, NOW, NOW + 999)).toBe(12)
    expect(currentAge(12, NOW, NOW + 1000)).toBe(13)
    expect(currentAge(12, NOW, NOW + 60_500)).toBe(72)
    expect(currentAge(0, NOW, NOW + 3_600_000)).toBe(3600)
  })

  it('never goes below the initial age when the clock steps back', () => {
    expect(currentAge(12, NOW, NOW - 10_000)).toBe(12)
  })
})

describe('freshness: further edge cases', () => {
  const T = Date.UTC(2025, 5, 15, 12, 0, 0)

  it('an invalid max-age counts as 0 even with a future Expires (RFC 9111 §4.2.1)', () => {
    expect(
      lifetime(
        { 'cache-control': 'max-age=abc', expires: httpDate(T + 3_600_000) },
        { responseTime: T }
      )
    ).toEqual({ seconds: 0, source: 'max-age' })
  })

  it('Expires and Date in the obsolete forms', () => {
    expect(
      lifetime({ date: 'Sunday, 06-Nov-94 08:49:37 GMT', expires: 'Sun Nov  6 08:50:37 1994' })
    ).toEqual({ seconds: 60, source: 'expires' })
  })

  it('two Expires field lines are invalid: already expired (RFC 9111 §4.2.1, §5.3)', () => {
    const headers = new Headers({ date: httpDate(T) })
    headers.append('expires', httpDate(T + 60_000))
    headers.append('expires', httpDate(T + 120_000))
    expect(freshnessLifetime(200, headers, parseCacheControl(null), HEURISTIC, T)).toEqual({
      seconds: 0,
      source: 'expires',
    })
  })

  it('RFC 5861 directives do not add to the freshness lifetime', () => {
    expect(
      lifetime({ 'cache-control': 'max-age=10, stale-while-revalidate=100, stale-if-error=100' })
    ).toEqual({ seconds: 10, source: 'max-age' })
  })

  it.each([203, 405, 414, 501])('the heuristic applies to status %i', (status) => {
    expect(
      lifetime({ date: httpDate(T), 'last-modified': httpDate(T - 10_000_000) }, { status })
    ).toEqual({ seconds: 1000, source: 'heuristic' })
  })

  it('the heuristic uses the configured fraction', () => {
    expect(
      lifetime(
        { date: httpDate(T), 'last-modified': httpDate(T - 10_000_000) },
        { heuristic: { fraction: 0.5, maxSeconds: 1e9 } }
      )
    ).toEqual({ seconds: 5000, source: 'heuristic' })
  })

  it('correctedInitialAge without Age or Date is the response delay', () => {
    expect(correctedInitialAge(new Headers(), T - 3000, T)).toBe(3)
  })

  it('correctedInitialAge ignores an unparseable Date', () => {
    expect(correctedInitialAge(new Headers({ age: '7', date: 'nope' }), T, T)).toBe(7)
  })

  // RFC 9111 §5.1: "a cache encountering a message with a list-based Age field value SHOULD use
  // the first member of the field value, discarding subsequent ones". `Age: 10, 20` (or two Age field
  // lines, which Headers.get joins with ", ") is treated as invalid and ignored, so the copy is taken
  // to be 10 s younger than it is and served fresh for 10 s too long.
  it('correctedInitialAge uses the first member of a list-valued Age', () => {
    expect(correctedInitialAge(new Headers({ age: '10, 20' }), T, T)).toBe(10)
  })
})

describe('parseHttpDate: calendar checks', () => {
  it('rejects a day that does not exist in its month', () => {
    expect(parseHttpDate('Thu, 31 Feb 2022 00:00:00 GMT')).toBeUndefined()
    expect(parseHttpDate('Tue, 29 Feb 2022 00:00:00 GMT')).toBeUndefined()
    expect(parseHttpDate('Tue, 29 Feb 2000 00:00:00 GMT')).toBe(Date.UTC(2000, 1, 29))
  })

  it('keeps a four-digit year below 100 literal', () => {
    expect(new Date(parseHttpDate('Sun, 06 Nov 0094 08:49:37 GMT')!).getUTCFullYear()).toBe(94)
  })
})

describe('parseHttpDate: lenient on the case of names only (RFC 9110 §5.6.7)', () => {
  const expected = Date.UTC(1994, 10, 6, 8, 49, 37)

  it.each([
    'sun, 06 nov 1994 08:49:37 gmt',
    'SUN, 06 NOV 1994 08:49:37 GMT',
    'Sun, 06 nOv 1994 08:49:37 Gmt',
    'SUNDAY, 06-NOV-94 08:49:37 gmt',
    'sun nov  6 08:49:37 1994',
  ])('accepts %j', (value) => {
    expect(parseHttpDate(value)).toBe(expected)
  })

  it('accepts a weekday that does not match the date (it is redundant)', () => {
    expect(parseHttpDate('Mon, 06 Nov 1994 08:49:37 GMT')).toBe(expected)
    expect(parseHttpDate('Friday, 06-Nov-94 08:49:37 GMT')).toBe(expected)
  })

  it.each([
    'Sun, 06 Nov 1994 08:49:37 UTC',
    'Sun, 6 Nov 1994 08:49:37 GMT',
    'Sun 06 Nov 1994 08:49:37 GMT',
    'Sun, 06 November 1994 08:49:37 GMT',
    'Sun, 06 Nox 1994 08:49:37 GMT',
    'Sunday, 06 Nov 1994 08:49:37 GMT',
    'Sun, 06 Nov 1994 08:49:37 GMT+1',
    'Sun, 06 Nov 1994 8:49:37 GMT',
    'Sun, 06 Nov 1994 24:00:00 GMT',
    'Xyz, 06 Nov 1994 08:49:37 GMT',
    '1994-11-06T08:49:37Z',
  ])('still rejects %j', (value) => {
    expect(parseHttpDate(value)).toBeUndefined()
  })

  // Any instant Date can print, in seconds, from year 1000 to 9999.
  const instant = fc
    .integer({ min: Date.UTC(1000, 0, 1) / 1000, max: Date.UTC(9999, 11, 31) / 1000 })
    .map((s) => s * 1000)

  it('fast-check: round-trips toUTCString()', () => {
    fc.assert(
      fc.property(instant, (ms) => {
        expect(parseHttpDate(new Date(ms).toUTCString())).toBe(ms)
      })
    )
  })

  it('fast-check: round-trips any case-mangled toUTCString()', () => {
    fc.assert(
      fc.property(
        instant,
        fc.array(fc.boolean(), { minLength: 29, maxLength: 29 }),
        (ms, flips) => {
          const mangled = [...new Date(ms).toUTCString()]
            .map((ch, i) => (flips[i] ? ch.toUpperCase() : ch.toLowerCase()))
            .join('')
          expect(parseHttpDate(mangled)).toBe(ms)
        }
      )
    )
  })

  it('fast-check: arbitrary text never throws and is a date only in one of the three forms', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (value) => {
        const ms = parseHttpDate(value)
        if (ms !== undefined) expect(value.trim()).toMatch(/GMT$|\d{4}$/i)
      })
    )
  })
})

describe('Age and Expires read to the letter (RFC 9111 §5.1, §5.3)', () => {
  it.each(['10;foo', '1.5', '-3', 'ten', '10 s'])('Age: %j is ignored', (age) => {
    expect(correctedInitialAge(new Headers({ age }), NOW, NOW)).toBe(0)
  })

  it('Age: 060 is 60', () => {
    expect(correctedInitialAge(new Headers({ age: '060' }), NOW, NOW)).toBe(60)
  })

  it.each(['0', '-1', 'never', 'Sun, 06 Nov 1994 08:49:37'])(
    'an invalid Expires %j means already expired',
    (expires) => {
      expect(lifetime({ expires, date: httpDate(NOW) })).toEqual({ seconds: 0, source: 'expires' })
    }
  )

  it('a lower-case Expires is a valid date', () => {
    expect(
      lifetime({ expires: httpDate(NOW + 60_000).toLowerCase(), date: httpDate(NOW) })
    ).toEqual({ seconds: 60, source: 'expires' })
  })

  it('max-age=060 is 60, a quoted max-age is accepted, s-maxage wins, duplicates are stale', () => {
    expect(lifetime({ 'cache-control': 'max-age=060' }).seconds).toBe(60)
    expect(lifetime({ 'cache-control': 'max-age="60"' }).seconds).toBe(60)
    expect(lifetime({ 'cache-control': 'max-age=10, s-maxage=90' })).toEqual({
      seconds: 90,
      source: 's-maxage',
    })
    expect(lifetime({ 'cache-control': 'max-age=60, max-age=60' }).seconds).toBe(0)
  })
})

describe('freshnessLifetime under an RFC 9213 targeted field', () => {
  it('ignores Expires (the targeted field replaces it): heuristic or nothing', () => {
    const headers = new Headers({ expires: httpDate(NOW + 600_000), date: httpDate(NOW) })
    const cc = responseDirectives(new Headers({ 'cdn-cache-control': 'public' }), [
      'cdn-cache-control',
    ])
    expect(freshnessLifetime(200, headers, cc, HEURISTIC, NOW)).toEqual({
      seconds: 0,
      source: 'none',
    })
    headers.set('last-modified', httpDate(NOW - 1_000_000))
    expect(freshnessLifetime(200, headers, cc, HEURISTIC, NOW).source).toBe('heuristic')
  })
})
