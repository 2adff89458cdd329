import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  answersNotModified,
  isNotModified,
  mergeNotModified,
  notModifiedHeaders,
  parseEntityTags,
  revalidationHeaders,
  weakMatch,
} from '../../src/http/conditional'

const LM = 'Sun, 06 Nov 1994 08:49:37 GMT'
const BEFORE_LM = 'Sun, 06 Nov 1994 08:49:36 GMT'
const AFTER_LM = 'Mon, 07 Nov 1994 08:49:37 GMT'

describe('parseEntityTags (RFC 9110 §8.8.3, §13.1.2)', () => {
  it('parses a single strong tag', () => {
    expect(parseEntityTags('"abc"')).toEqual(['"abc"'])
  })

  it('parses a weak tag', () => {
    expect(parseEntityTags('W/"abc"')).toEqual(['W/"abc"'])
  })

  it('parses a list with and without whitespace', () => {
    expect(parseEntityTags('"a", W/"b" ,"c",W/"d"')).toEqual(['"a"', 'W/"b"', '"c"', 'W/"d"'])
  })

  it('parses the empty tag', () => {
    expect(parseEntityTags('""')).toEqual(['""'])
  })

  it('keeps commas inside a tag (etagc includes ",")', () => {
    expect(parseEntityTags('"a,b", "c"')).toEqual(['"a,b"', '"c"'])
  })

  it('parses *', () => {
    expect(parseEntityTags('*')).toEqual(['*'])
    expect(parseEntityTags(' * ')).toEqual(['*'])
  })

  it('tolerates a trailing comma', () => {
    expect(parseEntityTags('"a",')).toEqual(['"a"'])
  })

  it.each([[''], ['garbage'], ['abc, def'], ['w/"a"'], ['"unterminated'], ['W/abc']])(
    'returns no tags for garbage %j',
    (value) => {
      expect(parseEntityTags(value)).toEqual([])
    }
  )

  it('never returns garbage members', () => {
    const tags = parseEntityTags('"a", garbage, "b"')
    expect(tags).toContain('"a"')
    expect(tags.every((tag) => /^(\*|(W\/)?"[^"]*")$/.test(tag))).toBe(true)
  })

  // RFC 9110 §5.6.1.2: "A recipient MUST parse and ignore a reasonable number of empty list
  // elements". The parser stops at the first empty element, so `"a", , "b"` yields only "a" and
  // `, "a"` yields nothing (If-None-Match then fails to match and a 200 is sent instead of a 304).
  it('ignores empty list elements', () => {
    expect(parseEntityTags('"a", , "b"')).toEqual(['"a"', '"b"'])
    expect(parseEntityTags(', "a"')).toEqual(['"a"'])
  })
})

describe('weakMatch (RFC 9110 §8.8.3.2)', () => {
  it.each([
    ['"1"', '"1"', true],
    ['W/"1"', '"1"', true],
    ['"1"', 'W/"1"', true],
    ['W/"1"', 'W/"1"', true],
    ['"1"', '"2"', false],
    ['W/"1"', 'W/"2"', false],
    ['"a"', '"A"', false],
    ['""', '""', true],
  ])('%s vs %s → %s', (a, b, expected) => {
    expect(weakMatch(a, b)).toBe(expected)
  })
})

describe('isNotModified (RFC 9110 §13.1.2, §13.1.3, §13.2.2)', () => {
  const notModified = (
    request: Record<string, string>,
    etag: string | undefined,
    lastModified: string | undefined
  ) => isNotModified(new Headers(request), { etag, lastModified })

  describe('If-None-Match', () => {
    it('matches an equal strong tag', () => {
      expect(notModified({ 'if-none-match': '"v1"' }, '"v1"', undefined)).toBe(true)
    })

    it('uses weak comparison in both directions', () => {
      expect(notModified({ 'if-none-match': 'W/"v1"' }, '"v1"', undefined)).toBe(true)
      expect(notModified({ 'if-none-match': '"v1"' }, 'W/"v1"', undefined)).toBe(true)
      expect(notModified({ 'if-none-match': 'W/"v1"' }, 'W/"v1"', undefined)).toBe(true)
    })

    it('does not match a different tag', () => {
      expect(notModified({ 'if-none-match': '"v2"' }, '"v1"', undefined)).toBe(false)
      expect(notModified({ 'if-none-match': 'W/"v2"' }, 'W/"v1"', undefined)).toBe(false)
    })

    it('matches any member of a list', () => {
      expect(notModified({ 'if-none-match': '"x", "y", W/"v1"' }, '"v1"', undefined)).toBe(true)
      expect(notModified({ 'if-none-match': '"x", "y"' }, '"v1"', undefined)).toBe(false)
    })

    it('* matches any stored etag', () => {
      expect(notModified({ 'if-none-match': '*' }, '"v1"', undefined)).toBe(true)
      expect(notModified({ 'if-none-match': '*' }, 'W/"v1"', LM)).toBe(true)
    })

    it('garbage never matches', () => {
      expect(notModified({ 'if-none-match': 'v1' }, '"v1"', undefined)).toBe(false)
    })

    it('without a stored etag, a tag list does not match', () => {
      expect(notModified({ 'if-none-match': '"v1"' }, undefined, LM)).toBe(false)
    })

    it('wins over If-Modified-Since: a mismatch is not rescued by a matching date', () => {
      expect(notModified({ 'if-none-match': '"v2"', 'if-modified-since': LM }, '"v1"', LM)).toBe(
        false
      )
    })

    it('wins over If-Modified-Since: a match is not undone by an old date', () => {
      expect(
        notModified({ 'if-none-match': '"v1"', 'if-modified-since': BEFORE_LM }, '"v1"', LM)
      ).toBe(true)
    })

    it('makes If-Modified-Since ignored even when nothing has an etag', () => {
      expect(notModified({ 'if-none-match': '"v1"', 'if-modified-since': LM }, undefined, LM)).toBe(
        false
      )
    })

    // RFC 9110 §13.1.2: "If the field value is "*", the condition is false if the origin server
    // has a current representation for the target resource" — a stored copy is such a representation,
    // so a GET with `If-None-Match: *` must get a 304 whether or not the copy has an ETag.
    // isNotModified returns false whenever the stored copy has no ETag.
    it('* matches a stored copy without an etag', () => {
      expect(notModified({ 'if-none-match': '*' }, undefined, undefined)).toBe(true)
      expect(notModified({ 'if-none-match': '*' }, undefined, LM)).toBe(true)
    })
  })

  describe('If-Modified-Since', () => {
    it('is not modified when Last-Modified equals the date', () => {
      expect(notModified({ 'if-modified-since': LM }, undefined, LM)).toBe(true)
    })

    it('is not modified when Last-Modified is older than the date', () => {
      expect(notModified({ 'if-modified-since': AFTER_LM }, undefined, LM)).toBe(true)
    })

    it('is modified when Last-Modified is newer than the date', () => {
      expect(notModified({ 'if-modified-since': BEFORE_LM }, undefined, LM)).toBe(false)
    })

    it('accepts the obsolete date forms', () => {
      expect(
        notModified({ 'if-modified-since': 'Sunday, 06-Nov-94 08:49:37 GMT' }, undefined, LM)
      ).toBe(true)
      expect(notModified({ 'if-modified-since': 'Sun Nov  6 08:49:37 1994' }, undefined, LM)).toBe(
        true
      )
    })

    it('is ignored when invalid', () => {
      expect(notModified({ 'if-modified-since': 'garbage' }, '"v1"', LM)).toBe(false)
    })

    it('is false when the stored copy has no Last-Modified', () => {
      expect(notModified({ 'if-modified-since': AFTER_LM }, '"v1"', undefined)).toBe(false)
    })

    it('is false when the stored Last-Modified is unparseable', () => {
      expect(notModified({ 'if-modified-since': AFTER_LM }, undefined, 'nope')).toBe(false)
    })

    // RFC 9110 §13.1.3: "A recipient MUST ignore the If-Modified-Since header field if the
    // received field value is not a valid HTTP-date". parseHttpDate (Date.parse) accepts "2030",
    // "0", ISO 8601 etc., so `If-Modified-Since: 2030` yields a 304 for any older Last-Modified.
    it('ignores an If-Modified-Since that is not an HTTP-date', () => {
      expect(notModified({ 'if-modified-since': '2030' }, undefined, LM)).toBe(false)
      expect(notModified({ 'if-modified-since': '2030-01-01T00:00:00Z' }, undefined, LM)).toBe(
        false
      )
    })
  })

  it('is false without conditional headers', () => {
    expect(notModified({}, '"v1"', LM)).toBe(false)
    expect(notModified({ 'if-match': '"v1"' }, '"v1"', LM)).toBe(false)
  })

  it('is false when neither side has validators', () => {
    expect(notModified({}, undefined, undefined)).toBe(false)
  })
})

describe('notModifiedHeaders (RFC 9110 §15.4.5)', () => {
  it('keeps only the fields a 304 carries', () => {
    const full = new Headers({
      'cache-control': 'max-age=60',
      'content-location': '/a.json',
      date: LM,
      etag: '"v1"',
      expires: AFTER_LM,
      vary: 'Accept',
      'last-modified': LM,
      'content-type': 'application/json',
      'content-length': '1234',
      'content-encoding': 'gzip',
      'set-cookie': 'a=b',
      'x-custom': '1',
      age: '5',
      'cache-status': 'edge; hit',
    })
    const out = notModifiedHeaders(full)
    expect(Object.fromEntries(out)).toEqual({
      'cache-control': 'max-age=60',
      'content-location': '/a.json',
      date: LM,
      etag: '"v1"',
      expires: AFTER_LM,
      vary: 'Accept',
      'last-modified': LM,
    })
  })

  it('does not invent missing fields', () => {
    const out = notModifiedHeaders(new Headers({ etag: '"v1"', 'content-type': 'text/plain' }))
    expect([...out]).toEqual([['etag', '"v1"']])
  })

  it('returns a new Headers and leaves the input alone', () => {
    const full = new Headers({ etag: '"v1"', 'content-type': 'text/plain' })
    const out = notModifiedHeaders(full)
    expect(out).not.toBe(full)
    out.set('etag', '"changed"')
    expect(full.get('etag')).toBe('"v1"')
    expect(full.get('content-type')).toBe('text/plain')
  })

  it('is empty for an empty input', () => {
    expect([...notModifiedHeaders(new Headers())]).toEqual([])
  })
})

describe('revalidationHeaders (RFC 9111 §4.3.1)', () => {
  it('sends both validators', () => {
    expect(revalidationHeaders({ etag: 'W/"v1"', lastModified: LM })).toEqual({
      'if-none-match': 'W/"v1"',
      'if-modified-since': LM,
    })
  })

  it('sends only If-None-Match when only an etag is stored', () => {
    expect(revalidationHeaders({ etag: '"v1"', lastModified: undefined })).toEqual({
      'if-none-match': '"v1"',
    })
  })

  it('sends only If-Modified-Since when only Last-Modified is stored', () => {
    expect(revalidationHeaders({ etag: undefined, lastModified: LM })).toEqual({
      'if-modified-since': LM,
    })
  })

  it('sends nothing without validators', () => {
    expect(revalidationHeaders({ etag: undefined, lastModified: undefined })).toEqual({})
  })
})

describe('mergeNotModified (RFC 9111 §3.2, §4.3.4)', () => {
  const asMap = (pairs: ReadonlyArray<readonly [string, string]>) => {
    const map = new Map<string, string[]>()
    for (const [name, value] of pairs) map.set(name, [...(map.get(name) ?? []), value])
    return map
  }

  it('replaces stored fields with those of the 304 and appends new ones', () => {
    const stored: Array<[string, string]> = [
      ['content-type', 'application/json'],
      ['content-length', '10'],
      ['cache-control', 'max-age=10'],
      ['etag', '"v1"'],
      ['date', BEFORE_LM],
      ['x-keep', 'yes'],
    ]
    const merged = mergeNotModified(
      stored,
      new Headers({
        'cache-control': 'max-age=60',
        etag: '"v2"',
        date: LM,
        'x-new': 'added',
      })
    )
    expect(asMap(merged)).toEqual(
      new Map([
        ['content-type', ['application/json']],
        ['content-length', ['10']],
        ['cache-control', ['max-age=60']],
        ['etag', ['"v2"']],
        ['date', [LM]],
        ['x-keep', ['yes']],
        ['x-new', ['added']],
      ])
    )
    expect(merged).toHaveLength(7)
  })

  it('keeps stored fields in their order, followed by the updated ones', () => {
    const merged = mergeNotModified(
      [
        ['a', '1'],
        ['etag', '"v1"'],
        ['b', '2'],
      ],
      new Headers({ etag: '"v2"' })
    )
    expect(merged).toEqual([
      ['a', '1'],
      ['b', '2'],
      ['etag', '"v2"'],
    ])
  })

  it('keeps content-length, content-encoding and content-range from the stored copy', () => {
    const stored: Array<[string, string]> = [
      ['content-length', '1234'],
      ['content-encoding', 'gzip'],
      ['content-range', 'bytes 0-9/10'],
    ]
    const merged = mergeNotModified(
      stored,
      new Headers({
        'content-length': '0',
        'content-encoding': 'br',
        'content-range': 'bytes */10',
      })
    )
    expect(merged).toEqual(stored)
  })

  it('updates content-type like any other field (RFC 9111 §3.2 lists only Content-Length)', () => {
    const merged = mergeNotModified(
      [
        ['content-type', 'application/json'],
        ['etag', '"v1"'],
      ],
      new Headers({ 'content-type': 'application/problem+json' })
    )
    expect(merged).toEqual([
      ['etag', '"v1"'],
      ['content-type', 'application/problem+json'],
    ])
  })

  it('does not add a content-length or content-encoding the stored copy lacked', () => {
    const merged = mergeNotModified(
      [['etag', '"v1"']],
      new Headers({ 'content-length': '0', 'content-encoding': 'gzip' })
    )
    expect(merged).toEqual([['etag', '"v1"']])
  })

  it('replaces every stored value of a repeated field', () => {
    const merged = mergeNotModified(
      [
        ['x-multi', 'one'],
        ['x-other', 'o'],
        ['x-multi', 'two'],
      ],
      new Headers({ 'x-multi': 'three' })
    )
    expect(merged).toEqual([
      ['x-other', 'o'],
      ['x-multi', 'three'],
    ])
  })

  it('returns a copy of the stored headers for an empty 304', () => {
    const stored: Array<[string, string]> = [
      ['etag', '"v1"'],
      ['content-type', 'text/plain'],
    ]
    const merged = mergeNotModified(stored, new Headers())
    expect(merged).toEqual(stored)
    expect(merged).not.toBe(stored)
    merged[0]![1] = 'changed'
    expect(stored[0]![1]).toBe('"v1"')
  })

  it('does not modify the stored array', () => {
    const stored: Array<[string, string]> = [['cache-control', 'max-age=1']]
    mergeNotModified(stored, new Headers({ 'cache-control': 'max-age=2', 'x-a': '1' }))
    expect(stored).toEqual([['cache-control', 'max-age=1']])
  })

  it('the merged result yields a fresh lifetime from the 304 Cache-Control', () => {
    const merged = mergeNotModified(
      [
        ['cache-control', 'max-age=10, stale-while-revalidate=5'],
        ['content-type', 'application/json'],
      ],
      new Headers({ 'cache-control': 'max-age=600' })
    )
    const headers = new Headers(merged)
    expect(headers.get('cache-control')).toBe('max-age=600')
    expect(headers.get('content-type')).toBe('application/json')
  })
})

describe('parseEntityTags / isNotModified: a star inside a malformed element is not a wildcard', () => {
  it.each(['x*', '"a*', 'abc*def', 'W/*', '"a" *'])(
    '%j names no tag and matches nothing',
    (value) => {
      expect(parseEntityTags(value)).not.toContain('*')
      expect(
        isNotModified(new Headers({ 'if-none-match': value }), {
          etag: '"v1"',
          lastModified: undefined,
        })
      ).toBe(false)
    }
  )

  it('a quoted tag containing * is an ordinary tag', () => {
    expect(parseEntityTags('"a*b", W/"*"')).toEqual(['"a*b"', 'W/"*"'])
    expect(
      isNotModified(new Headers({ 'if-none-match': '"a*b"' }), {
        etag: '"v1"',
        lastModified: undefined,
      })
    ).toBe(false)
  })
})

describe('answersNotModified (RFC 9110 §13.2.1: preconditions apply to 2xx answers only)', () => {
  it('a stored 404 or 500 is sent as it is, whatever the preconditions', () => {
    for (const status of [404, 410, 500]) {
      const stored = { status, etag: '"a"', lastModified: 'Wed, 01 Jan 2025 00:00:00 GMT' }
      expect(answersNotModified(new Headers({ 'if-none-match': '*' }), stored)).toBe(false)
      expect(answersNotModified(new Headers({ 'if-none-match': '"a"' }), stored)).toBe(false)
      expect(
        answersNotModified(
          new Headers({ 'if-modified-since': 'Thu, 01 Jan 2099 00:00:00 GMT' }),
          stored
        )
      ).toBe(false)
    }
  })

  it('a stored 200 answers If-None-Match: * with a 304', () => {
    expect(
      answersNotModified(new Headers({ 'if-none-match': '*' }), {
        status: 200,
        etag: undefined,
        lastModified: undefined,
      })
    ).toBe(true)
  })
})

describe('conditional evaluation: properties (fast-check)', () => {
  const opaque = fc
    .array(fc.constantFrom(...'abcxyz019-_!#'.split('')), { minLength: 0, maxLength: 6 })
    .map((chars) => `"${chars.join('')}"`)
  const tag = fc.tuple(fc.boolean(), opaque).map(([weak, o]) => (weak ? `W/${o}` : o))
  const status = fc.integer({ min: 100, max: 599 })

  it('never answers 304 for a stored non-2xx', () => {
    fc.assert(
      fc.property(status, fc.array(tag), fc.boolean(), (s, tags, star) => {
        fc.pre(s < 200 || s > 299)
        const value = [...tags, ...(star ? ['*'] : [])].join(', ')
        const headers = new Headers({ 'if-none-match': value })
        expect(
          answersNotModified(headers, { status: s, etag: tags[0], lastModified: undefined })
        ).toBe(false)
      })
    )
  })

  it('If-None-Match matches exactly when the list holds the stored tag (weakly) or *', () => {
    fc.assert(
      fc.property(fc.array(tag, { maxLength: 5 }), tag, fc.boolean(), (tags, stored, star) => {
        const list = [...tags, ...(star ? ['*'] : [])]
        const headers = new Headers({ 'if-none-match': list.join(', ') })
        const bare = (t: string) => t.replace(/^W\//, '')
        const expected = star || tags.some((t) => bare(t) === bare(stored))
        expect(isNotModified(headers, { etag: stored, lastModified: undefined })).toBe(expected)
      })
    )
  })

  it('If-None-Match wins over If-Modified-Since', () => {
    fc.assert(
      fc.property(tag, tag, (sent, stored) => {
        fc.pre(sent.replace(/^W\//, '') !== stored.replace(/^W\//, ''))
        const headers = new Headers({
          'if-none-match': sent,
          'if-modified-since': 'Thu, 01 Jan 2099 00:00:00 GMT',
        })
        const validators = { etag: stored, lastModified: 'Wed, 01 Jan 2025 00:00:00 GMT' }
        expect(isNotModified(headers, validators)).toBe(false)
      })
    )
  })
})

describe('If-Modified-Since against a stored copy without Last-Modified (RFC 9111 §4.3.2)', () => {
  const DATE = 'Sun, 06 Nov 1994 08:49:37 GMT'
  const stored = (headers: Array<[string, string]>, storedAt?: number) => ({
    status: 200,
    etag: undefined,
    lastModified: undefined,
    headers,
    storedAt,
  })

  it('compares with the stored Date', () => {
    const entry = stored([['date', DATE]])
    expect(answersNotModified(new Headers({ 'if-modified-since': DATE }), entry)).toBe(true)
    expect(answersNotModified(new Headers({ 'if-modified-since': AFTER_LM }), entry)).toBe(true)
    expect(answersNotModified(new Headers({ 'if-modified-since': BEFORE_LM }), entry)).toBe(false)
  })

  it('without Date, compares with the time the copy was received', () => {
    const at = Date.parse(DATE)
    expect(answersNotModified(new Headers({ 'if-modified-since': DATE }), stored([], at))).toBe(
      true
    )
    expect(
      answersNotModified(new Headers({ 'if-modified-since': BEFORE_LM }), stored([], at))
    ).toBe(false)
  })

  it('Last-Modified, when present, is used rather than Date (even if unparseable)', () => {
    const entry = { ...stored([['date', AFTER_LM]]), lastModified: 'nope' }
    expect(answersNotModified(new Headers({ 'if-modified-since': AFTER_LM }), entry)).toBe(false)
  })

  it('If-None-Match still wins, and bare validators have no Date to fall back on', () => {
    const entry = stored([['date', DATE]])
    expect(
      answersNotModified(
        new Headers({ 'if-none-match': '"x"', 'if-modified-since': AFTER_LM }),
        entry
      )
    ).toBe(false)
    expect(
      isNotModified(new Headers({ 'if-modified-since': AFTER_LM }), {
        etag: undefined,
        lastModified: undefined,
      })
    ).toBe(false)
  })

  it('fast-check: a 304 only when the client date is not before the stored Date', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4_000_000_000 }),
        fc.integer({ min: 0, max: 4_000_000_000 }),
        (storedSec, clientSec) => {
          const entry = stored([['date', new Date(storedSec * 1000).toUTCString()]])
          const request = new Headers({
            'if-modified-since': new Date(clientSec * 1000).toUTCString(),
          })
          expect(answersNotModified(request, entry)).toBe(storedSec <= clientSec)
        }
      )
    )
  })
})
