import { expect } from 'vitest'
import type { ConformanceHarness, ConformanceRow } from '../row'
import { idOf } from './helpers'

/*
 * What a stored copy keeps and gives back (RFC 9111 §3.1, §3.2, §4.3.4). Two environments differ in
 * how a body's coding reaches the client: inside workerd the harness reads the bytes the Worker
 * answered with; end to end, wrangler dev (like Cloudflare's edge) re-codes an answer for the client's
 * Accept-Encoding and Node's fetch decodes gzip, so those rows check the header and the decoded text.
 * Rows that check Content-Length ask for `identity` so that no hop in front of the Worker compresses.
 */

/** `{"greeting":"hello from a gzip origin"}` gzipped at level 1 (a re-coder would send other bytes). */
const GZIP_B64 = 'H4sIAAAAAAAEA6tWSi9KTS3JzEtXslLKSM3JyVdIK8rPVUhUSK/KLFDIL8pMz8xTqgUABLlLBicAAAA='
const GZIP_TEXT = '{"greeting":"hello from a gzip origin"}'
const GZIP = Uint8Array.from(atob(GZIP_B64), (ch) => ch.charCodeAt(0))
/** Bytes that are no known coding's output: they must arrive as they left the origin. */
const X_FOO = new Uint8Array([0x00, 0xff, 0x10, 0x80, 0x7f, 0x0a])
const X_FOO_B64 = btoa(String.fromCharCode(...X_FOO))

const IDENTITY: RequestInit = { headers: { 'accept-encoding': 'identity' } }

function body64(b64: string): string {
  return `body-b64=${encodeURIComponent(b64)}`
}

/** A miss that is stored, then the hit: both answers and the origin fetch count. */
async function storedThenHit(h: ConformanceHarness, path: string, init?: RequestInit) {
  const miss = await h.send(path, init)
  expect(miss.cacheStatus).toMatch(/stored/)
  const hit = await h.send(path, init)
  expect(hit.cacheStatus).toMatch(/; hit/)
  expect(await h.fetches(path)).toBe(1)
  return { miss, hit }
}

/** A copy that is revalidated on every request (no-cache + ETag); the 304 sets `h304` fields. */
function revalidated(h: ConformanceHarness, headers: Record<string, string>, h304: string) {
  return h.echo(
    'r',
    { 'cache-control': 'max-age=60, no-cache', etag: '"v1"', 'x-version': '1', ...headers },
    h304
  )
}

export const storedHeaderRows: ConformanceRow[] = [
  {
    id: 'stored-gzip-bytes',
    section: 'RFC 9111 §3.1',
    requirement:
      'a gzip-coded body is stored as the origin sent it and served with its Content-Encoding',
    run: async (h) => {
      const path = h.echo(
        'gz',
        {
          'content-type': 'application/octet-stream',
          'content-encoding': 'gzip',
          'cache-control': 'max-age=60',
        },
        body64(GZIP_B64)
      )
      const { miss, hit } = await storedThenHit(h, path)
      for (const answer of [miss, hit]) {
        expect(answer.headers.get('content-encoding')).toBe('gzip')
        if (h.where === 'workerd') expect(answer.body).toEqual(GZIP)
        else expect(answer.text).toBe(GZIP_TEXT)
      }
    },
  },
  {
    id: 'stored-gzip-length',
    section: 'RFC 9110 §8.6',
    requirement: 'a coded stored body is served with the Content-Length of its coded bytes',
    run: async (h) => {
      const path = h.echo(
        'gzl',
        {
          'content-type': 'application/octet-stream',
          'content-encoding': 'gzip',
          'cache-control': 'max-age=60',
        },
        body64(GZIP_B64)
      )
      const { hit } = await storedThenHit(h, path, IDENTITY)
      expect(hit.headers.get('content-encoding')).toBe('gzip')
      // End to end, the hops in front of the Worker decode and re-code the body: its length is theirs.
      if (h.where === 'workerd') expect(hit.headers.get('content-length')).toBe(String(GZIP.length))
      else expect(hit.text).toBe(GZIP_TEXT)
    },
  },
  {
    id: 'stored-unknown-coding-untouched',
    section: 'RFC 9110 §8.4',
    requirement: 'a body in an unknown content coding (x-foo) passes through the cache untouched',
    run: async (h) => {
      const path = h.echo(
        'xfoo',
        {
          'content-type': 'application/octet-stream',
          'content-encoding': 'x-foo',
          'cache-control': 'max-age=60',
        },
        body64(X_FOO_B64)
      )
      const { miss, hit } = await storedThenHit(h, path)
      for (const answer of [miss, hit]) {
        expect(answer.headers.get('content-encoding')).toBe('x-foo')
        expect(answer.body).toEqual(X_FOO)
      }
    },
  },
  {
    id: 'stored-content-length-hit',
    section: 'RFC 9110 §8.6',
    requirement: 'an answer from the cache carries the Content-Length of the stored body',
    run: async (h) => {
      const path = h.echo('cl', { 'cache-control': 'max-age=60' })
      const { miss, hit } = await storedThenHit(h, path, IDENTITY)
      for (const answer of [miss, hit]) {
        expect(answer.headers.get('content-length')).toBe(String(answer.body.length))
      }
      expect(hit.body.length).toBeGreaterThan(0)
    },
  },
  {
    id: 'stored-content-length-head',
    section: 'RFC 9110 §9.3.2',
    requirement:
      'a HEAD answered from the cache carries the GET body’s Content-Length, without a body',
    run: async (h) => {
      const path = h.echo('head', { 'cache-control': 'max-age=60' })
      const { hit } = await storedThenHit(h, path, IDENTITY)
      const head = await h.send(path, { ...IDENTITY, method: 'HEAD' })
      expect(head.cacheStatus).toMatch(/; hit/)
      expect(head.headers.get('content-length')).toBe(String(hit.body.length))
      expect(head.body.length).toBe(0)
      expect(await h.fetches(path)).toBe(1)
    },
  },
  {
    id: 'stored-repeated-field-verbatim',
    section: 'RFC 9111 §3.1',
    requirement: 'a repeated field is stored and served with every value, in order',
    run: async (h) => {
      const path = h.echo(
        'rep',
        { 'cache-control': 'max-age=60', link: '</a.css>; rel=preload' },
        `h-link=${encodeURIComponent('</b.js>; rel=preload')}`
      )
      const { hit } = await storedThenHit(h, path)
      expect(hit.headers.get('link')).toBe('</a.css>; rel=preload, </b.js>; rel=preload')
    },
  },
  {
    id: 'stored-field-values-verbatim',
    section: 'RFC 9111 §3.1',
    requirement:
      'stored field values come back exactly as the origin sent them (case, quotes, spacing)',
    run: async (h) => {
      const odd = 'MiXeD CaSe; "Quoted, Value";  Two  Spaces'
      const path = h.echo('odd', {
        'cache-control': 'max-age=60',
        'x-odd': odd,
        'content-language': 'de-AT',
      })
      const { hit } = await storedThenHit(h, path)
      expect(hit.headers.get('x-odd')).toBe(odd)
      expect(hit.headers.get('content-language')).toBe('de-AT')
    },
  },
  {
    id: 'stored-no-cache-field-dropped',
    section: 'RFC 9111 §5.2.2.4',
    requirement: 'a field named by no-cache="…" is not served from the stored copy; the rest is',
    run: async (h) => {
      const path = h.echo('nc', {
        'cache-control': 'max-age=60, no-cache="x-secret"',
        'x-secret': 'per-request',
        'x-public': 'shared',
      })
      const { hit } = await storedThenHit(h, path)
      expect(hit.headers.has('x-secret')).toBe(false)
      expect(hit.headers.get('x-public')).toBe('shared')
    },
  },
  {
    id: 'stored-private-field-dropped',
    section: 'RFC 9111 §5.2.2.7',
    requirement: 'a field named by private="…" is not stored by a shared cache; the rest is',
    run: async (h) => {
      const path = h.echo('pf', {
        'cache-control': 'max-age=60, private="x-user"',
        'x-user': 'alice',
        'x-public': 'shared',
      })
      const { hit } = await storedThenHit(h, path)
      expect(hit.headers.has('x-user')).toBe(false)
      expect(hit.headers.get('x-public')).toBe('shared')
    },
  },
  {
    id: 'stored-connection-named-dropped',
    section: 'RFC 9110 §7.6.1',
    requirement: 'a field the origin names in Connection is hop-by-hop and not stored',
    run: async (h) => {
      const path = h.echo('conn', {
        'cache-control': 'max-age=60',
        connection: 'x-hop',
        'x-hop': 'this-hop-only',
        'x-end': 'kept',
      })
      const { hit } = await storedThenHit(h, path)
      expect(hit.headers.has('x-hop')).toBe(false)
      expect(hit.headers.get('x-end')).toBe('kept')
    },
  },
  {
    id: 'stored-tag-fields-not-served',
    section: 'RFC 9111 §3.1',
    requirement: 'the cache’s own tag fields (Surrogate-Key, Cache-Tag) are stripped on purpose',
    run: async (h) => {
      const path = h.echo('tags', {
        'cache-control': 'max-age=60',
        'surrogate-key': 'product-1',
        'cache-tag': 'catalogue',
      })
      const { miss, hit } = await storedThenHit(h, path)
      for (const answer of [miss, hit]) {
        expect(answer.headers.has('surrogate-key')).toBe(false)
        expect(answer.headers.has('cache-tag')).toBe(false)
      }
    },
  },
  {
    id: 'stored-304-updates-field',
    section: 'RFC 9111 §4.3.4',
    requirement: 'a 304 that validates the stored copy updates the stored fields it carries',
    run: async (h) => {
      const path = revalidated(h, {}, 'h304-x-version=2')
      const first = await h.send(path)
      expect(first.headers.get('x-version')).toBe('1')
      const second = await h.send(path)
      expect(second.cacheStatus).toMatch(/fwd-status=304/)
      expect(second.headers.get('x-version')).toBe('2')
      expect(idOf(second.text)).toBe(idOf(first.text))
      const third = await h.send(path)
      expect(third.headers.get('x-version')).toBe('2')
    },
  },
  {
    id: 'stored-304-updates-content-type',
    section: 'RFC 9111 §3.2',
    requirement: 'a 304 updates Content-Type like any other field it carries',
    run: async (h) => {
      const path = revalidated(
        h,
        { 'content-type': 'application/json' },
        `h304-content-type=${encodeURIComponent('application/json; charset=utf-8')}`
      )
      await h.send(path)
      const second = await h.send(path)
      expect(second.cacheStatus).toMatch(/fwd-status=304/)
      expect(second.headers.get('content-type')).toBe('application/json; charset=utf-8')
    },
  },
  {
    id: 'stored-304-keeps-content-length',
    section: 'RFC 9111 §3.2',
    requirement: 'a 304 does not update the stored Content-Length: the answer keeps the body’s',
    run: async (h) => {
      const path = revalidated(h, {}, 'h304-content-length=999&h304-x-version=2')
      const first = await h.send(path, IDENTITY)
      const second = await h.send(path, IDENTITY)
      expect(second.cacheStatus).toMatch(/fwd-status=304/)
      expect(second.headers.get('x-version')).toBe('2')
      expect(second.headers.get('content-length')).toBe(String(first.body.length))
      expect(second.text).toBe(first.text)
    },
  },
  {
    id: 'stored-304-keeps-content-encoding',
    section: 'RFC 9111 §3.2',
    requirement: 'a 304 does not change the coding of the stored body (Content-Encoding is kept)',
    run: async (h) => {
      const path = revalidated(
        h,
        { 'content-type': 'application/octet-stream', 'content-encoding': 'x-foo' },
        `h304-content-encoding=br&h304-x-version=2&${body64(X_FOO_B64)}`
      )
      await h.send(path)
      const second = await h.send(path)
      expect(second.cacheStatus).toMatch(/fwd-status=304/)
      expect(second.headers.get('x-version')).toBe('2')
      expect(second.headers.get('content-encoding')).toBe('x-foo')
      expect(second.body).toEqual(X_FOO)
    },
  },
  {
    id: 'stored-origin-gets-canonical-accept-encoding',
    section: 'RFC 9111 §4.1',
    requirement:
      'a fill asks the origin with the canonical Accept-Encoding its variant key holds (known codings, sorted)',
    run: async (h) => {
      const path = h.echo('ae', { 'cache-control': 'max-age=60', vary: 'accept-encoding' })
      const answer = await h.send(path, { headers: { 'accept-encoding': 'gzip;q=0.5, br, x-foo' } })
      const echoed = JSON.parse(answer.text) as { headers: Record<string, string> }
      // End to end the Worker is handed `br, gzip` by the hop in front of it: the same canonical set.
      expect(echoed.headers['accept-encoding']).toBe('br,gzip')
    },
  },
  {
    id: 'stored-vary-accept-encoding-canonical',
    section: 'RFC 9111 §4.1',
    requirement:
      'Vary: Accept-Encoding selects by the canonical form: equivalent fields share a copy',
    run: async (h) => {
      const path = h.echo('vae', { 'cache-control': 'max-age=60', vary: 'Accept-Encoding' })
      const first = await h.send(path, { headers: { 'accept-encoding': 'gzip, br' } })
      const second = await h.send(path, {
        headers: { 'accept-encoding': 'br;q=0.9 , GZIP;q=1.0, x-foo' },
      })
      expect(second.cacheStatus).toMatch(/; hit/)
      expect(idOf(second.text)).toBe(idOf(first.text))
      expect(await h.fetches(path)).toBe(1)
    },
  },
]
