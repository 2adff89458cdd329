import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  ifRangeHolds,
  parseRange,
  rangeFor,
  selectRange,
  type RangeSource,
  type RangeSpec,
} from '../../src/http/range'

const LM = 'Sun, 06 Nov 1994 08:49:37 GMT'
const LM_PLUS_1S = 'Sun, 06 Nov 1994 08:49:38 GMT'

function stored(overrides: Partial<RangeSource> & { length?: number; date?: string } = {}) {
  const { length = 10_000, date = LM_PLUS_1S, ...rest } = overrides
  const source: RangeSource = {
    status: 200,
    body: { byteLength: length },
    headers: date === '' ? [] : [['date', date]],
    etag: '"v1"',
    lastModified: LM,
    ...rest,
  }
  return source
}

describe('parseRange (RFC 9110 §14.1.1, §14.2)', () => {
  it('parses the int-range, open-ended and suffix forms', () => {
    expect(parseRange('bytes=0-499')).toEqual({ first: 0, last: 499 })
    expect(parseRange('bytes=9500-')).toEqual({ first: 9500, last: undefined })
    expect(parseRange('bytes=-500')).toEqual({ suffix: 500 })
    expect(parseRange('bytes=-0')).toEqual({ suffix: 0 })
  })

  it('compares the unit case-insensitively and accepts OWS and empty list elements', () => {
    expect(parseRange('BYTES=1-2')).toEqual({ first: 1, last: 2 })
    expect(parseRange('bytes= 1-2 ')).toEqual({ first: 1, last: 2 })
    expect(parseRange('bytes=,\t1-2,, ')).toEqual({ first: 1, last: 2 })
  })

  it('ignores other units and invalid specifiers', () => {
    for (const value of [
      'items=0-5',
      'bytes 0-5',
      'bytes =0-5',
      'bytes=',
      'bytes=,',
      'bytes=5-4',
      'bytes=-',
      'bytes=--5',
      'bytes=1 - 2',
      'bytes=-5-',
      'bytes=a-b',
      'bytes=0x10-',
      'bytes=+1-2',
      'bytes=1.5-2',
      'bytes=-1e3',
      'bytes=١-٢',
      '=0-5',
      '',
    ]) {
      expect(parseRange(value), value).toBeUndefined()
    }
  })

  it('reports a set of several ranges as multiple, whatever they are', () => {
    expect(parseRange('bytes=0-0,1-1')).toBe('multiple')
    expect(parseRange('bytes=0-10,5-15')).toBe('multiple')
    expect(parseRange('bytes=0-0,garbage')).toBe('multiple')
  })

  it('stops at the second range of a hostile list', () => {
    const many = `bytes=${Array.from({ length: 100_000 }, (_, i) => `${i}-${i}`).join(',')}`
    expect(parseRange(many)).toBe('multiple')
    expect(parseRange(`bytes=${','.repeat(100_000)}`)).toBeUndefined()
    expect(parseRange(`bytes=${' '.repeat(100_000)}1-2${' '.repeat(100_000)}`)).toEqual({
      first: 1,
      last: 2,
    })
  })

  it('keeps huge numbers huge', () => {
    const huge = '9'.repeat(400)
    const first = parseRange(`bytes=${huge}-`)
    expect(first).toEqual({ first: Infinity, last: undefined })
    expect(parseRange(`bytes=0-${huge}`)).toEqual({ first: 0, last: Infinity })
    expect(parseRange(`bytes=-${huge}`)).toEqual({ suffix: Infinity })
    expect(parseRange('bytes=00000000000000000000000000001-2')).toEqual({ first: 1, last: 2 })
  })

  it('round-trips any int-range and suffix-range', () => {
    fc.assert(
      fc.property(
        fc.nat(),
        fc.option(fc.nat(), { nil: undefined }),
        fc.boolean(),
        (a, b, suffix) => {
          if (suffix) {
            expect(parseRange(`bytes=-${a}`)).toEqual({ suffix: a })
            return
          }
          const last = b === undefined ? undefined : a + b
          const text = `bytes=${a}-${last ?? ''}`
          expect(parseRange(text)).toEqual({ first: a, last })
        }
      )
    )
  })

  it('never throws on any input', () => {
    fc.assert(
      fc.property(fc.string(), (tail) => {
        const parsed = parseRange(`bytes=${tail}`)
        expect(parsed === undefined || parsed === 'multiple' || typeof parsed === 'object').toBe(
          true
        )
        parseRange(tail)
      })
    )
  })
})

describe('selectRange (RFC 9110 §14.1.2)', () => {
  it('cuts the three forms from a 10000-byte body', () => {
    expect(selectRange({ first: 0, last: 499 }, 10_000)).toEqual({
      kind: 'partial',
      first: 0,
      last: 499,
    })
    expect(selectRange({ suffix: 500 }, 10_000)).toEqual({
      kind: 'partial',
      first: 9500,
      last: 9999,
    })
    expect(selectRange({ first: 9500, last: undefined }, 10_000)).toEqual({
      kind: 'partial',
      first: 9500,
      last: 9999,
    })
  })

  it('clamps a last-pos beyond the end and a suffix longer than the body', () => {
    expect(selectRange({ first: 5, last: 1e9 }, 10)).toEqual({ kind: 'partial', first: 5, last: 9 })
    expect(selectRange({ suffix: Infinity }, 10)).toEqual({ kind: 'partial', first: 0, last: 9 })
  })

  it('is unsatisfiable from the end on, and for -0', () => {
    expect(selectRange({ first: 10, last: undefined }, 10)).toEqual({ kind: 'unsatisfiable' })
    expect(selectRange({ first: Infinity, last: undefined }, 10)).toEqual({
      kind: 'unsatisfiable',
    })
    expect(selectRange({ suffix: 0 }, 10)).toEqual({ kind: 'unsatisfiable' })
    expect(selectRange({ first: 0, last: 0 }, 0)).toEqual({ kind: 'unsatisfiable' })
  })

  it('sends an empty body whole to a suffix range', () => {
    expect(selectRange({ suffix: 5 }, 0)).toBeUndefined()
  })

  it('always selects bytes inside the body, or none', () => {
    const spec: fc.Arbitrary<RangeSpec> = fc.oneof(
      fc.record({
        first: fc.oneof(fc.nat(), fc.constant(Infinity)),
        last: fc.option(fc.oneof(fc.nat(), fc.constant(Infinity)), { nil: undefined }),
      }),
      fc.record({ suffix: fc.oneof(fc.nat(), fc.constant(Infinity)) })
    )
    fc.assert(
      fc.property(spec, fc.nat(100_000), (range, length) => {
        if ('first' in range && range.last !== undefined && range.last < range.first) return
        const answer = selectRange(range, length)
        if (answer?.kind !== 'partial') {
          // Unsatisfiable exactly when §14.1.1 says so.
          const satisfiable = 'suffix' in range ? range.suffix > 0 : range.first < length
          expect(answer === undefined ? satisfiable && length === 0 : !satisfiable).toBe(true)
          return
        }
        expect(Number.isInteger(answer.first) && Number.isInteger(answer.last)).toBe(true)
        expect(0 <= answer.first && answer.first <= answer.last && answer.last < length).toBe(true)
        if ('first' in range) expect(answer.first).toBe(range.first)
        else expect(answer.last - answer.first + 1).toBe(Math.min(range.suffix, length))
      })
    )
  })
})

describe('ifRangeHolds (RFC 9110 §13.1.5)', () => {
  it('matches a strong entity tag strongly', () => {
    expect(ifRangeHolds('"v1"', stored())).toBe(true)
    expect(ifRangeHolds(' "v1" ', stored())).toBe(true)
    expect(ifRangeHolds('"v2"', stored())).toBe(false)
  })

  it('never matches a weak tag, on either side', () => {
    expect(ifRangeHolds('W/"v1"', stored())).toBe(false)
    expect(ifRangeHolds('"v1"', stored({ etag: 'W/"v1"' }))).toBe(false)
    expect(ifRangeHolds('W/"v1"', stored({ etag: 'W/"v1"' }))).toBe(false)
    expect(ifRangeHolds('"v1"', stored({ etag: undefined }))).toBe(false)
  })

  it('matches a date equal to a strong Last-Modified', () => {
    expect(ifRangeHolds(LM, stored())).toBe(true)
    // The same instant in the obsolete RFC 850 form.
    expect(ifRangeHolds('Sunday, 06-Nov-94 08:49:37 GMT', stored())).toBe(true)
    expect(ifRangeHolds(LM_PLUS_1S, stored())).toBe(false)
  })

  it('never matches a date when Last-Modified is weak or absent', () => {
    // Date less than a second after Last-Modified, or no Date: the validator is weak (§8.8.2.2).
    expect(ifRangeHolds(LM, stored({ date: LM }))).toBe(false)
    expect(ifRangeHolds(LM, stored({ date: '' }))).toBe(false)
    expect(ifRangeHolds(LM, stored({ lastModified: undefined }))).toBe(false)
  })

  it('is false for anything else', () => {
    for (const value of ['', 'v1', '*', 'yesterday', '"v1', 'W/v1']) {
      expect(ifRangeHolds(value, stored()), value).toBe(false)
    }
    fc.assert(
      fc.property(fc.string(), (value) => {
        // Only the exact stored tag or the Last-Modified instant can hold.
        if (ifRangeHolds(value, stored())) expect(['"v1"', LM]).toContain(value.trim())
      })
    )
  })
})

describe('rangeFor', () => {
  const get = (headers: Record<string, string>) => new Headers(headers)

  it('answers a GET of a stored 200 with a single range', () => {
    expect(rangeFor('GET', get({ range: 'bytes=0-1' }), stored())).toEqual({
      kind: 'partial',
      first: 0,
      last: 1,
    })
    expect(rangeFor('GET', get({ range: 'bytes=10000-' }), stored())).toEqual({
      kind: 'unsatisfiable',
    })
  })

  it('ignores Range for HEAD, other statuses, several ranges and invalid fields', () => {
    expect(rangeFor('HEAD', get({ range: 'bytes=0-1' }), stored())).toBeUndefined()
    for (const status of [203, 204, 206, 301, 404, 500]) {
      expect(rangeFor('GET', get({ range: 'bytes=0-1' }), stored({ status }))).toBeUndefined()
    }
    expect(rangeFor('GET', get({ range: 'bytes=0-1,3-4' }), stored())).toBeUndefined()
    expect(rangeFor('GET', get({ range: 'lines=0-1' }), stored())).toBeUndefined()
    expect(rangeFor('GET', get({}), stored())).toBeUndefined()
  })

  it('serves the range only when If-Range holds, and ignores If-Range alone', () => {
    const range = { range: 'bytes=0-1' }
    expect(rangeFor('GET', get({ ...range, 'if-range': '"v1"' }), stored())).toMatchObject({
      kind: 'partial',
    })
    expect(rangeFor('GET', get({ ...range, 'if-range': '"v0"' }), stored())).toBeUndefined()
    expect(rangeFor('GET', get({ ...range, 'if-range': 'W/"v1"' }), stored())).toBeUndefined()
    expect(rangeFor('GET', get({ 'if-range': '"v1"' }), stored())).toBeUndefined()
  })
})
