import { describe, expect, it } from 'vitest'
import { hopByHopFields, parseFieldNames, withoutFields } from '../../src/http/headers'

const FIXED = [
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]

describe('hopByHopFields (RFC 9110 §7.6.1)', () => {
  it('contains the fixed hop-by-hop fields', () => {
    const fields = hopByHopFields(new Headers())
    expect([...fields].sort()).toEqual([...FIXED].sort())
  })

  it('does not contain end-to-end fields', () => {
    const fields = hopByHopFields(new Headers({ connection: 'close' }))
    for (const name of ['content-type', 'cache-control', 'etag', 'set-cookie', 'authorization']) {
      expect(fields.has(name), name).toBe(false)
    }
  })

  it('adds the options named in Connection, lower-cased and trimmed', () => {
    const fields = hopByHopFields(new Headers({ connection: 'close, X-Foo ,, Keep-Alive,  x-BAR' }))
    for (const name of [...FIXED, 'close', 'x-foo', 'x-bar']) {
      expect(fields.has(name), name).toBe(true)
    }
    expect(fields.has('')).toBe(false)
    expect(fields.size).toBe(FIXED.length + 3)
  })

  it('reads every Connection field line', () => {
    const headers = new Headers()
    headers.append('connection', 'x-one')
    headers.append('connection', 'x-two')
    const fields = hopByHopFields(headers)
    expect(fields.has('x-one')).toBe(true)
    expect(fields.has('x-two')).toBe(true)
  })

  it('connection options of one message do not leak into another', () => {
    hopByHopFields(new Headers({ connection: 'x-leak' }))
    expect(hopByHopFields(new Headers()).has('x-leak')).toBe(false)
    expect(hopByHopFields(new Headers({ connection: 'close' })).has('x-leak')).toBe(false)
  })
})

describe('withoutFields', () => {
  it('drops the fixed hop-by-hop fields and keeps end-to-end ones', () => {
    const out = withoutFields(
      new Headers({
        connection: 'keep-alive',
        'keep-alive': 'timeout=5',
        'proxy-authorization': 'Basic x',
        'proxy-authenticate': 'Basic',
        te: 'trailers',
        trailer: 'x-checksum',
        'transfer-encoding': 'chunked',
        upgrade: 'h2c',
        'content-type': 'application/json',
        'cache-control': 'max-age=60',
        etag: '"v1"',
      })
    )
    expect(Object.fromEntries(out)).toEqual({
      'content-type': 'application/json',
      'cache-control': 'max-age=60',
      etag: '"v1"',
    })
  })

  it('drops the fields named in Connection', () => {
    const out = withoutFields(
      new Headers({ connection: 'X-Hop, close', 'x-hop': '1', 'x-end': '2' })
    )
    expect(Object.fromEntries(out)).toEqual({ 'x-end': '2' })
  })

  it('drops the extra fields', () => {
    const out = withoutFields(
      new Headers({ 'set-cookie': 'a=b', 'x-internal': '1', 'content-type': 'text/plain' }),
      new Set(['set-cookie', 'x-internal'])
    )
    expect(Object.fromEntries(out)).toEqual({ 'content-type': 'text/plain' })
  })

  it('keeps every Set-Cookie line', () => {
    const headers = new Headers()
    headers.append('set-cookie', 'a=1')
    headers.append('set-cookie', 'b=2')
    headers.append('x-a', '1')
    const out = withoutFields(headers)
    expect(out.getSetCookie()).toEqual(['a=1', 'b=2'])
    expect(out.get('x-a')).toBe('1')
  })

  it('returns a new Headers and leaves the input alone', () => {
    const input = new Headers({ connection: 'close', 'x-a': '1' })
    const out = withoutFields(input)
    expect(out).not.toBe(input)
    out.set('x-b', '2')
    expect(input.get('connection')).toBe('close')
    expect(input.has('x-b')).toBe(false)
  })

  it('is empty for empty input', () => {
    expect([...withoutFields(new Headers())]).toEqual([])
  })
})

describe('parseFieldNames', () => {
  it('is empty for a missing or empty value', () => {
    expect(parseFieldNames(null)).toEqual([])
    expect(parseFieldNames('')).toEqual([])
    expect(parseFieldNames(' , ,')).toEqual([])
  })

  it('lower-cases, trims, de-duplicates and sorts', () => {
    expect(parseFieldNames('Accept-Encoding, accept, X-A ,, x-a, ACCEPT')).toEqual([
      'accept',
      'accept-encoding',
      'x-a',
    ])
  })

  it('parses a single name', () => {
    expect(parseFieldNames('Origin')).toEqual(['origin'])
  })

  it('keeps * as a member', () => {
    expect(parseFieldNames('accept, *')).toEqual(['*', 'accept'])
  })

  it('gives the same result for reordered input', () => {
    expect(parseFieldNames('b, a, c')).toEqual(parseFieldNames('C,A,B'))
  })
})
