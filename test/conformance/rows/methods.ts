import { expect } from 'vitest'
import type { ConformanceHarness, ConformanceRow } from '../row'
import { idOf } from './helpers'

const FRESH = { 'cache-control': 'max-age=600' }

/** Stores `path`, runs `act`, then says whether the next GET still got the stored copy. */
async function survives(
  h: ConformanceHarness,
  path: string,
  act: () => Promise<unknown>
): Promise<boolean> {
  const first = await h.send(path)
  expect(first.cacheStatus).toMatch(/stored/)
  await act()
  const after = await h.send(path)
  return idOf(after.text) === idOf(first.text)
}

/** An unsafe method with a non-error answer invalidates the target URI (RFC 9111 §4.4). */
function invalidates(method: string, id: string): ConformanceRow {
  return {
    id,
    section: 'RFC 9111 §4.4',
    requirement: `a 2xx answer to ${method} invalidates the stored GET of the target URI`,
    run: async (h) => {
      const path = h.echo('m', FRESH)
      expect(await survives(h, path, () => h.send(path, { method, body: '{}' }))).toBe(false)
    },
  }
}

export const methodRows: ConformanceRow[] = [
  {
    id: 'method-post-not-stored',
    section: 'RFC 9111 §2, §3',
    requirement: 'a POST answer is not stored: every POST reaches the origin',
    run: async (h) => {
      const path = h.echo('m', FRESH)
      const one = await h.send(path, { method: 'POST', body: 'a' })
      const two = await h.send(path, { method: 'POST', body: 'b' })
      expect(one.cacheStatus).toMatch(/fwd=method/)
      expect(idOf(two.text)).not.toBe(idOf(one.text))
      expect(await h.fetches(path)).toBe(2)
    },
  },
  {
    id: 'method-get-not-answered-by-post',
    section: 'RFC 9111 §4',
    requirement: 'a stored GET answer is never used for a POST',
    run: async (h) => {
      const path = h.echo('m', FRESH)
      const get = await h.send(path)
      const post = await h.send(path, { method: 'POST', body: 'x' })
      expect(JSON.parse(post.text).method).toBe('POST')
      expect(idOf(post.text)).not.toBe(idOf(get.text))
    },
  },
  invalidates('POST', 'method-post-invalidates'),
  invalidates('PUT', 'method-put-invalidates'),
  invalidates('PATCH', 'method-patch-invalidates'),
  invalidates('DELETE', 'method-delete-invalidates'),
  invalidates('PROPPATCH', 'method-extension-invalidates'),
  {
    id: 'method-extension-forwarded',
    section: 'RFC 9110 §9.1',
    requirement: 'an extension method reaches the origin like POST (not answered 501 by the cache)',
    run: async (h) => {
      const path = h.echo('m')
      for (const method of ['MKCOL', 'PROPFIND', 'LOCK']) {
        const answer = await h.send(path, { method })
        expect(answer.status).toBe(200)
        expect(JSON.parse(answer.text).method).toBe(method)
        expect(answer.cacheStatus).toMatch(/fwd=method/)
      }
    },
  },
  {
    id: 'method-error-does-not-invalidate',
    section: 'RFC 9111 §4.4',
    requirement: 'an error answer (4xx/5xx) to an unsafe method invalidates nothing',
    run: async (h) => {
      // The GET is the path's first fetch (200, stored); the POST its second (409).
      const path = h.echo('m', FRESH, 'status2=409')
      let status = 0
      expect(
        await survives(
          h,
          path,
          async () => (status = (await h.send(path, { method: 'POST' })).status)
        )
      ).toBe(true)
      expect(status).toBe(409)
    },
  },
  {
    id: 'method-safe-does-not-invalidate',
    section: 'RFC 9111 §4.4',
    requirement: 'a safe method (OPTIONS) invalidates nothing',
    run: async (h) => {
      const path = h.echo('m', FRESH)
      expect(await survives(h, path, () => h.send(path, { method: 'OPTIONS' }))).toBe(true)
    },
  },
  {
    id: 'method-location-invalidated',
    section: 'RFC 9111 §4.4',
    requirement: 'a 2xx to an unsafe method invalidates the same-origin URI in Location',
    run: async (h) => {
      const target = h.echo('target', FRESH)
      const writer = h.echo('writer', { location: target })
      expect(await survives(h, target, () => h.send(writer, { method: 'POST' }))).toBe(false)
    },
  },
  {
    id: 'method-content-location-invalidated',
    section: 'RFC 9111 §4.4',
    requirement: 'a 2xx to an unsafe method invalidates the same-origin URI in Content-Location',
    run: async (h) => {
      const target = h.echo('target', FRESH)
      const writer = h.echo('writer', { 'content-location': target })
      expect(await survives(h, target, () => h.send(writer, { method: 'PUT' }))).toBe(false)
    },
  },
  {
    id: 'method-foreign-location-ignored',
    section: 'RFC 9111 §4.4',
    requirement: 'a Location on another host invalidates nothing here',
    run: async (h) => {
      const target = h.echo('target', FRESH)
      const writer = h.echo('writer', { location: `https://elsewhere.example${target}` })
      expect(await survives(h, target, () => h.send(writer, { method: 'POST' }))).toBe(true)
    },
  },
  {
    id: 'method-purge-refused',
    section: 'RFC 9110 §9.1 (policy)',
    requirement: 'a client PURGE is refused (405) and purges nothing: purging needs the admin API',
    run: async (h) => {
      const path = h.echo('m', FRESH)
      let answer: { status: number } | undefined
      expect(
        await survives(h, path, async () => (answer = await h.send(path, { method: 'PURGE' })))
      ).toBe(true)
      expect(answer?.status).toBe(405)
    },
  },
  {
    id: 'method-head-from-get',
    section: 'RFC 9110 §9.3.2',
    requirement: 'HEAD is answered from the stored GET: same status and fields, no body',
    run: async (h) => {
      const path = h.echo('m', { ...FRESH, 'x-extra': 'kept' })
      const get = await h.send(path)
      const head = await h.send(path, { method: 'HEAD' })
      expect(head.status).toBe(200)
      expect(head.cacheStatus).toMatch(/; hit/)
      expect(head.body.byteLength).toBe(0)
      expect(head.headers.get('x-extra')).toBe('kept')
      expect(head.headers.get('etag')).toBe(get.headers.get('etag'))
      expect(await h.fetches(path)).toBe(1)
    },
  },
  {
    id: 'method-head-miss-stores-get',
    section: 'RFC 9111 §4.3.5',
    requirement: 'a HEAD miss fetches and stores the GET, so the next GET is a hit',
    run: async (h) => {
      const path = h.echo('m', FRESH)
      const head = await h.send(path, { method: 'HEAD' })
      expect(head.body.byteLength).toBe(0)
      const get = await h.send(path)
      expect(get.cacheStatus).toMatch(/; hit/)
      expect(JSON.parse(get.text).method).toBe('GET')
      expect(await h.fetches(path)).toBe(1)
    },
  },
]
