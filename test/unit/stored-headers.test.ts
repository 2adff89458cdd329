import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { CacheEntry } from '../../src/cache/entry'
import { buildEntry, refreshEntry, storedHeaders } from '../../src/cache/entry-builder'
import { parseConfig } from '../../src/config/load-config'
import { responseDirectives } from '../../src/http/cache-control'
import { varyNames } from '../../src/origin/origin-fill'
import { cacheableOriginHeaders } from '../../src/origin/origin-request'

const config = parseConfig({
  ORIGIN_URL: 'https://api.example.com',
  CACHE_CONFIG: {
    routes: [
      { pattern: '/lang/**', key: { headers: ['accept-language'] } },
      { pattern: '/ae/**', key: { headers: ['accept-encoding'] } },
      { pattern: '/**' },
    ],
  },
})
const [langRoute, aeRoute, route] = config.routes as [
  (typeof config.routes)[0],
  (typeof config.routes)[0],
  (typeof config.routes)[0],
]
const NOW = 1_700_000_000_000

function stored(headers: Headers): Array<[string, string]> {
  return storedHeaders(headers, responseDirectives(headers, config.targetedCacheControl))
}

function entryOf(headers: Array<[string, string]>): CacheEntry {
  const h = new Headers(headers)
  return buildEntry(
    {
      status: 200,
      headers: h,
      cacheControl: responseDirectives(h, config.targetedCacheControl),
      requestTime: NOW,
      responseTime: NOW,
    },
    new Uint8Array([1, 2, 3]),
    route,
    config
  )
}

describe('storedHeaders (RFC 9111 §3.1)', () => {
  it('keeps Content-Encoding with the origin’s bytes, and every end-to-end field verbatim', () => {
    const headers = new Headers([
      ['Content-Type', 'Application/JSON; Charset=UTF-8'],
      ['Content-Encoding', 'x-foo'],
      ['X-Odd', '  MiXeD  Case\tvalue '],
      ['Link', '</a>; rel=preload'],
      ['Link', '</b>; rel=preload'],
    ])
    const out = new Headers(stored(headers))
    expect(out.get('content-encoding')).toBe('x-foo')
    expect(out.get('content-type')).toBe('Application/JSON; Charset=UTF-8')
    // Headers trims leading/trailing whitespace of a value; the rest comes back as sent.
    expect(out.get('x-odd')).toBe('MiXeD  Case\tvalue')
    expect(out.get('link')).toBe('</a>; rel=preload, </b>; rel=preload')
  })

  it('leaves out hop-by-hop fields, Connection-named ones, and the fields stripped on purpose', () => {
    const headers = new Headers({
      connection: 'close, x-hop',
      'x-hop': '1',
      'keep-alive': 'timeout=5',
      'transfer-encoding': 'chunked',
      age: '30',
      'set-cookie': 'a=1',
      'content-length': '3',
      'surrogate-key': 'k',
      'cache-tag': 't',
      'surrogate-control': 'max-age=5',
      'x-end-to-end': 'kept',
    })
    expect(stored(headers)).toEqual([['x-end-to-end', 'kept']])
  })

  it('leaves out the fields named by no-cache="…" and private="…"', () => {
    const headers = new Headers({
      'cache-control': 'max-age=60, no-cache="x-a", private="X-B, x-c"',
      'x-a': '1',
      'x-b': '2',
      'x-c': '3',
      'x-d': '4',
    })
    expect(stored(headers).map(([name]) => name)).toEqual(['cache-control', 'x-d'])
  })

  it('property: no stored field is hop-by-hop, named by Connection, or a cookie', () => {
    const name = fc.constantFrom('x-a', 'x-b', 'set-cookie', 'te', 'trailer', 'upgrade', 'x-c')
    fc.assert(
      fc.property(
        fc.array(fc.tuple(name, fc.stringMatching(/^[a-z0-9]{0,6}$/))),
        fc.subarray(['x-a', 'x-b']),
        (fields, named) => {
          const headers = new Headers(fields)
          if (named.length > 0) headers.set('connection', named.join(', '))
          for (const [field] of stored(headers)) {
            expect([
              'set-cookie',
              'te',
              'trailer',
              'upgrade',
              'connection',
              ...named,
            ]).not.toContain(field)
          }
        }
      )
    )
  })
})

describe('refreshEntry: a 304 updates the stored fields (RFC 9111 §3.2, §4.3.4)', () => {
  it('updates Content-Type and other fields, never Content-Length or Content-Encoding', () => {
    const entry = entryOf([
      ['content-type', 'application/json'],
      ['content-encoding', 'gzip'],
      ['etag', '"v1"'],
      ['x-version', '1'],
    ])
    const notModified = new Headers({
      'content-type': 'application/problem+json',
      'content-length': '0',
      'content-encoding': 'br',
      'x-version': '2',
      connection: 'x-hop',
      'x-hop': 'dropped',
    })
    const refreshed = refreshEntry(
      entry,
      {
        status: 304,
        headers: notModified,
        cacheControl: responseDirectives(notModified, config.targetedCacheControl),
        requestTime: NOW + 1000,
        responseTime: NOW + 1000,
      },
      route,
      config
    )
    const headers = new Headers(refreshed.headers as Array<[string, string]>)
    expect(headers.get('content-type')).toBe('application/problem+json')
    expect(headers.get('x-version')).toBe('2')
    expect(headers.get('content-encoding')).toBe('gzip')
    expect(headers.has('content-length')).toBe(false)
    expect(headers.has('x-hop')).toBe(false)
    expect(refreshed.body).toBe(entry.body)
  })
})

describe('varyNames', () => {
  it('names accept-encoding when the origin’s Vary does', () => {
    const entry = entryOf([['vary', 'Accept-Encoding, Origin']])
    expect(varyNames(entry, route)).toEqual(['accept-encoding', 'origin'])
  })

  it('names accept-encoding for a coded body even without Vary (it was negotiated)', () => {
    expect(varyNames(entryOf([['content-encoding', 'gzip']]), route)).toEqual(['accept-encoding'])
    expect(varyNames(entryOf([['content-encoding', 'identity']]), route)).toEqual([])
    expect(varyNames(entryOf([]), route)).toEqual([])
  })

  it('adds the route’s key headers', () => {
    expect(varyNames(entryOf([['vary', 'accept-encoding']]), langRoute)).toEqual([
      'accept-encoding',
      'accept-language',
    ])
  })
})

describe('cacheableOriginHeaders: Accept-Encoding', () => {
  it('forwards the canonical form the variant key holds', () => {
    const out = cacheableOriginHeaders(
      new Headers({ 'accept-encoding': 'gzip;q=0.5, deflate, br, x-foo' }),
      route,
      config
    )
    expect(out.get('accept-encoding')).toBe('br,deflate,gzip')
  })

  it('forwards identity when nothing known is accepted, and nothing when the client sent nothing', () => {
    const accepts = (value: string) =>
      cacheableOriginHeaders(new Headers({ 'accept-encoding': value }), route, config).get(
        'accept-encoding'
      )
    expect(accepts('x-foo')).toBe('identity')
    expect(accepts('')).toBe('identity')
    expect(cacheableOriginHeaders(new Headers(), route, config).has('accept-encoding')).toBe(false)
  })

  it('is canonical even when a route keys on accept-encoding', () => {
    const out = cacheableOriginHeaders(
      new Headers({ 'accept-encoding': ' br , gzip ' }),
      aeRoute,
      config
    )
    expect(out.get('accept-encoding')).toBe('br,gzip')
  })
})
