import { expect } from 'vitest'
import type { ConformanceHarness, ConformanceRow } from '../row'
import { idOf } from './helpers'

const LAST_MODIFIED = 'Wed, 01 Jan 2020 00:00:00 GMT'

/** Two GETs: whether the second was the stored copy, and the origin fetches for the path. */
async function twice(h: ConformanceHarness, path: string, init?: RequestInit) {
  const first = await h.send(path, init)
  const second = await h.send(path, init)
  return {
    first,
    second,
    reused: idOf(second.text) !== undefined && idOf(second.text) === idOf(first.text),
    fetches: await h.fetches(path),
  }
}

async function until(h: ConformanceHarness, check: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    if (await check()) return true
    await h.sleep(100)
  }
  return false
}

function notStoredRow(
  id: string,
  section: string,
  requirement: string,
  headers: Record<string, string>
): ConformanceRow {
  return {
    id,
    section,
    requirement,
    run: async (h) => {
      const { reused, fetches, first } = await twice(h, h.echo('f', headers))
      expect(first.cacheStatus).not.toMatch(/stored/)
      expect(reused).toBe(false)
      expect(fetches).toBe(2)
    },
  }
}

export const freshnessRows: ConformanceRow[] = [
  {
    id: 'fresh-max-age-reused',
    section: 'RFC 9111 §4.2.1',
    requirement: 'a response with max-age is reused while fresh, without contacting the origin',
    run: async (h) => {
      const { second, reused, fetches } = await twice(
        h,
        h.echo('f', { 'cache-control': 'max-age=60' })
      )
      expect(reused).toBe(true)
      expect(second.cacheStatus).toMatch(/; hit; ttl=(5\d|60)\b/)
      expect(fetches).toBe(1)
    },
  },
  {
    id: 'fresh-s-maxage-wins',
    section: 'RFC 9111 §5.2.2.10',
    requirement: 's-maxage overrides max-age for a shared cache',
    run: async (h) => {
      const path = h.echo('f', { 'cache-control': 'max-age=1, s-maxage=600' })
      const first = await h.send(path)
      // 600 s less the answer's initial age (its fetch, and the origin's whole-second Date), which a
      // busy machine can make a few seconds: still s-maxage's lifetime, nowhere near max-age's.
      expect(first.cacheStatus).toMatch(/ttl=(59\d|600)\b/)
      await h.sleep(1100)
      const second = await h.send(path)
      expect(second.cacheStatus).toMatch(/; hit/)
      expect(await h.fetches(path)).toBe(1)
    },
  },
  {
    id: 'fresh-expires-minus-date',
    section: 'RFC 9111 §4.2.1',
    requirement: 'without max-age, the lifetime is Expires minus Date',
    run: async (h) => {
      const now = Date.now()
      const path = h.echo('f', {
        date: new Date(now).toUTCString(),
        expires: new Date(now + 300_000).toUTCString(),
      })
      const { first, reused } = await twice(h, path)
      expect(first.cacheStatus).toMatch(/ttl=(29\d|300)\b/)
      expect(reused).toBe(true)
    },
  },
  {
    id: 'fresh-max-age-over-expires',
    section: 'RFC 9111 §5.3',
    requirement: 'max-age takes precedence over Expires',
    run: async (h) => {
      const path = h.echo('f', { 'cache-control': 'max-age=600', expires: LAST_MODIFIED })
      const { first, reused } = await twice(h, path)
      // 600 s less the answer's initial age (a few seconds at most on a busy machine).
      expect(first.cacheStatus).toMatch(/ttl=(59\d|600)\b/)
      expect(reused).toBe(true)
    },
  },
  {
    id: 'fresh-expires-past-stale',
    section: 'RFC 9111 §4.2.1',
    requirement: 'an Expires in the past makes the response stale on arrival',
    run: async (h) => {
      const { reused, fetches } = await twice(h, h.echo('f', { expires: LAST_MODIFIED }))
      expect(reused).toBe(false)
      expect(fetches).toBe(2)
    },
  },
  {
    id: 'fresh-heuristic-bounded',
    section: 'RFC 9111 §4.2.2',
    requirement: 'a heuristic lifetime is a fraction of the time since Last-Modified, capped',
    run: async (h) => {
      const path = h.echo('f', { 'last-modified': new Date(Date.now() - 1000_000).toUTCString() })
      const { first, reused } = await twice(h, path)
      // 10 % of ~1000 s: about 100 s, never more than the age since modification.
      const ttl = Number(/ttl=(-?\d+)/.exec(first.cacheStatus)?.[1])
      expect(ttl).toBeGreaterThan(50)
      expect(ttl).toBeLessThanOrEqual(101)
      expect(reused).toBe(true)
    },
  },
  notStoredRow(
    'fresh-no-lifetime',
    'RFC 9111 §3',
    'a 200 with neither lifetime nor validator is not stored',
    {}
  ),
  notStoredRow('fresh-no-store', 'RFC 9111 §5.2.2.5', 'no-store: not stored', {
    'cache-control': 'no-store, max-age=60',
  }),
  notStoredRow('fresh-private', 'RFC 9111 §5.2.2.7', 'private: a shared cache does not store it', {
    'cache-control': 'private, max-age=60',
  }),
  notStoredRow('fresh-vary-star', 'RFC 9111 §4.1', 'Vary: * never matches: not stored', {
    'cache-control': 'max-age=60',
    vary: '*',
  }),
  notStoredRow(
    'fresh-set-cookie',
    'RFC 9111 §3, §7.3 (policy)',
    'a response that sets a cookie is not stored in a shared cache',
    { 'cache-control': 'public, max-age=60', 'set-cookie': 'a=b' }
  ),
  notStoredRow(
    'fresh-no-cache-no-validator',
    'RFC 9111 §5.2.2.4',
    'no-cache without a validator: storing it would only ever cost a full fetch, so it is not stored',
    { 'cache-control': 'no-cache' }
  ),
  {
    id: 'fresh-no-cache-revalidates',
    section: 'RFC 9111 §5.2.2.4',
    requirement: 'no-cache: stored, but validated with the origin before every reuse',
    run: async (h) => {
      const path = h.echo('f', { 'cache-control': 'no-cache', etag: '"v1"' })
      const first = await h.send(path)
      const second = await h.send(path)
      expect(second.status).toBe(200)
      expect(idOf(second.text)).toBe(idOf(first.text))
      expect(second.cacheStatus).toMatch(/fwd=stale; fwd-status=304/)
      expect(await h.fetches(path)).toBe(2)
    },
  },
  {
    id: 'fresh-max-age-0-revalidates',
    section: 'RFC 9111 §4.3.1',
    requirement: 'max-age=0 with a validator: reuse only after a 304 from the origin',
    run: async (h) => {
      const path = h.echo('f', { 'cache-control': 'max-age=0', 'last-modified': LAST_MODIFIED })
      const first = await h.send(path)
      const second = await h.send(path)
      expect(idOf(second.text)).toBe(idOf(first.text))
      expect(second.cacheStatus).toMatch(/fwd-status=304/)
    },
  },
  {
    id: 'fresh-304-freshens',
    section: 'RFC 9111 §4.3.4',
    requirement: 'a 304 freshens the stored copy: it is then reused as fresh',
    run: async (h) => {
      // The 304 renews freshness for a minute (its fields update the stored ones), so the third
      // request's hit does not hang on how fast a busy machine sends it.
      const path = h.echo(
        'f',
        { 'cache-control': 'max-age=1', etag: '"v1"' },
        'h304-cache-control=max-age%3D60'
      )
      const first = await h.send(path)
      await h.sleep(1100)
      const revalidated = await h.send(path)
      expect(revalidated.cacheStatus).toMatch(/fwd=stale; fwd-status=304/)
      const third = await h.send(path)
      expect(third.cacheStatus).toMatch(/; hit/)
      expect(idOf(third.text)).toBe(idOf(first.text))
    },
  },
  {
    id: 'fresh-304-updates-fields',
    section: 'RFC 9111 §4.3.4',
    requirement: 'fields a 304 carries replace the stored ones',
    run: async (h) => {
      const path = h.echo('f', { 'cache-control': 'max-age=1', etag: '"v1"' }, 'h304-x-version=2')
      await h.send(path)
      await h.sleep(1100)
      await h.send(path)
      const after = await h.send(path)
      expect(after.headers.get('x-version')).toBe('2')
    },
  },
  {
    id: 'fresh-changed-replaces',
    section: 'RFC 9111 §4.3.3',
    requirement: 'a full 200 to a revalidation replaces the stored copy',
    run: async (h) => {
      // The replacing answer lives a minute, so the third request's hit does not hang on how fast a
      // busy machine sends it (its Age counts the second fetch's own response delay).
      const path = h.echo('f', { 'cache-control': 'max-age=1' }, 'h2-cache-control=max-age%3D60')
      const first = await h.send(path)
      await h.sleep(1100)
      const second = await h.send(path)
      expect(idOf(second.text)).not.toBe(idOf(first.text))
      const third = await h.send(path)
      expect(idOf(third.text)).toBe(idOf(second.text))
    },
  },
  {
    id: 'fresh-must-revalidate',
    section: 'RFC 9111 §5.2.2.2',
    requirement: 'must-revalidate: a stale copy is not served (even with stale-while-revalidate)',
    run: async (h) => {
      const path = h.echo('f', {
        'cache-control': 'max-age=1, must-revalidate, stale-while-revalidate=60',
      })
      const first = await h.send(path)
      await h.sleep(1100)
      const second = await h.send(path)
      expect(second.cacheStatus).not.toMatch(/; hit/)
      expect(idOf(second.text)).not.toBe(idOf(first.text))
    },
  },
  {
    id: 'fresh-proxy-revalidate',
    section: 'RFC 9111 §5.2.2.8',
    requirement: 'proxy-revalidate binds a shared cache like must-revalidate',
    run: async (h) => {
      const path = h.echo('f', {
        'cache-control': 'max-age=1, proxy-revalidate, stale-while-revalidate=60',
      })
      await h.send(path)
      await h.sleep(1100)
      const second = await h.send(path)
      expect(second.cacheStatus).not.toMatch(/; hit/)
    },
  },
  {
    id: 'fresh-swr',
    section: 'RFC 5861 §3',
    requirement: 'stale-while-revalidate: the stale copy is served at once and refreshed behind it',
    run: async (h) => {
      const path = h.echo('f', { 'cache-control': 'max-age=1, stale-while-revalidate=60' })
      const first = await h.send(path)
      await h.sleep(1100)
      const stale = await h.send(path)
      expect(stale.cacheStatus).toMatch(/; hit; .*stale-while-revalidate/)
      expect(idOf(stale.text)).toBe(idOf(first.text))
      expect(await until(h, async () => (await h.fetches(path)) === 2)).toBe(true)
    },
  },
  {
    id: 'fresh-age-upstream',
    section: 'RFC 9111 §4.2.3',
    requirement: 'Age counts the upstream Age; the lifetime left is max-age minus it',
    run: async (h) => {
      const path = h.echo('f', { 'cache-control': 'max-age=600', age: '100' })
      const first = await h.send(path)
      expect(Number(first.headers.get('age'))).toBeGreaterThanOrEqual(100)
      expect(first.cacheStatus).toMatch(/ttl=(49\d|500)\b/)
    },
  },
  {
    id: 'fresh-age-grows',
    section: 'RFC 9111 §5.1',
    requirement: 'a stored copy carries an Age that grows while it is resident',
    run: async (h) => {
      const path = h.echo('f', { 'cache-control': 'max-age=600' })
      await h.send(path)
      await h.sleep(2100)
      const later = await h.send(path)
      expect(Number(later.headers.get('age'))).toBeGreaterThanOrEqual(2)
    },
  },
  {
    id: 'fresh-age-past-lifetime-stale',
    section: 'RFC 9111 §4.2',
    requirement:
      'a response whose Age already exceeds max-age arrives stale and is not reused fresh',
    run: async (h) => {
      const { reused } = await twice(h, h.echo('f', { 'cache-control': 'max-age=60', age: '120' }))
      expect(reused).toBe(false)
    },
  },
  {
    id: 'fresh-date-kept',
    section: 'RFC 9111 §3.1',
    requirement: "a stored copy keeps the origin's Date",
    run: async (h) => {
      const date = new Date(Date.now() - 5000).toUTCString()
      const path = h.echo('f', { 'cache-control': 'max-age=600', date })
      await h.send(path)
      const hit = await h.send(path)
      expect(hit.headers.get('date')).toBe(date)
    },
  },
  {
    id: 'cond-inm-304',
    section: 'RFC 9110 §13.1.2',
    requirement: 'If-None-Match matching the stored ETag gets a 304 from the cache',
    run: async (h) => {
      const path = h.echo('f', { 'cache-control': 'max-age=60', etag: '"v1"' })
      await h.send(path)
      const answer = await h.send(path, { headers: { 'if-none-match': '"v0", "v1"' } })
      expect(answer.status).toBe(304)
      expect(answer.headers.get('etag')).toBe('"v1"')
      expect(answer.body.byteLength).toBe(0)
      expect(await h.fetches(path)).toBe(1)
    },
  },
  {
    id: 'cond-inm-weak',
    section: 'RFC 9110 §13.1.2',
    requirement: 'If-None-Match uses the weak comparison (W/"v1" matches "v1")',
    run: async (h) => {
      const path = h.echo('f', { 'cache-control': 'max-age=60', etag: '"v1"' })
      await h.send(path)
      const answer = await h.send(path, { headers: { 'if-none-match': 'W/"v1"' } })
      expect(answer.status).toBe(304)
    },
  },
  {
    id: 'cond-inm-mismatch',
    section: 'RFC 9110 §13.1.2',
    requirement: 'If-None-Match that matches nothing gets the full stored 200',
    run: async (h) => {
      const path = h.echo('f', { 'cache-control': 'max-age=60', etag: '"v1"' })
      await h.send(path)
      const answer = await h.send(path, { headers: { 'if-none-match': '"v2"' } })
      expect(answer.status).toBe(200)
      expect(answer.cacheStatus).toMatch(/; hit/)
    },
  },
  {
    id: 'cond-ims-304',
    section: 'RFC 9110 §13.1.3',
    requirement: 'If-Modified-Since at or after Last-Modified gets a 304 from the cache',
    run: async (h) => {
      const path = h.echo('f', { 'cache-control': 'max-age=60', 'last-modified': LAST_MODIFIED })
      await h.send(path)
      const answer = await h.send(path, { headers: { 'if-modified-since': LAST_MODIFIED } })
      expect(answer.status).toBe(304)
    },
  },
  {
    id: 'cond-ims-older',
    section: 'RFC 9110 §13.1.3',
    requirement: 'If-Modified-Since before Last-Modified gets the full 200',
    run: async (h) => {
      const path = h.echo('f', { 'cache-control': 'max-age=60', 'last-modified': LAST_MODIFIED })
      await h.send(path)
      const answer = await h.send(path, {
        headers: { 'if-modified-since': 'Tue, 31 Dec 2019 00:00:00 GMT' },
      })
      expect(answer.status).toBe(200)
    },
  },
  {
    id: 'cond-inm-precedence',
    section: 'RFC 9110 §13.2.2',
    requirement: 'If-None-Match is evaluated instead of If-Modified-Since when both are present',
    run: async (h) => {
      const path = h.echo('f', {
        'cache-control': 'max-age=60',
        etag: '"v1"',
        'last-modified': LAST_MODIFIED,
      })
      await h.send(path)
      const answer = await h.send(path, {
        headers: { 'if-none-match': '"other"', 'if-modified-since': LAST_MODIFIED },
      })
      expect(answer.status).toBe(200)
    },
  },
  {
    id: 'cond-304-fields',
    section: 'RFC 9110 §15.4.5',
    requirement: 'a 304 carries the Cache-Control, ETag, Date and Vary the 200 would have',
    run: async (h) => {
      const path = h.echo('f', {
        'cache-control': 'max-age=60',
        etag: '"v1"',
        vary: 'accept',
      })
      await h.send(path)
      const answer = await h.send(path, { headers: { 'if-none-match': '"v1"' } })
      expect(answer.status).toBe(304)
      expect(answer.headers.get('cache-control')).toBe('max-age=60')
      expect(answer.headers.get('vary')).toBe('accept')
      expect(answer.headers.get('date')).not.toBeNull()
    },
  },
  {
    id: 'cond-not-on-error',
    section: 'RFC 9110 §13.2.1',
    requirement:
      'preconditions are not evaluated against a stored non-2xx (If-None-Match: * on a 404)',
    run: async (h) => {
      const path = h.echo('f', { 'cache-control': 'max-age=60' }, 'status=404')
      await h.send(path)
      const answer = await h.send(path, { headers: { 'if-none-match': '*' } })
      expect(answer.status).toBe(404)
    },
  },
  {
    id: 'status-cache-status-miss-hit',
    section: 'RFC 9211 §2',
    requirement: 'Cache-Status names a miss as fwd=miss with stored and ttl, a hit as hit with ttl',
    run: async (h) => {
      const path = h.echo('f', { 'cache-control': 'max-age=60' })
      const { first, second } = await twice(h, path)
      // 60 s less the answer's initial age (a few seconds at most on a busy machine).
      expect(first.cacheStatus).toMatch(/^edge-cache; fwd=miss; ttl=(5\d|60); stored/)
      expect(second.cacheStatus).toMatch(/^edge-cache; hit; ttl=\d+/)
    },
  },
  {
    id: 'status-cache-status-prepended',
    section: 'RFC 9211 §2',
    requirement: "our Cache-Status member comes first, before the origin's own members",
    run: async (h) => {
      const path = h.echo('f', {
        'cache-control': 'max-age=60',
        'cache-status': 'OriginCache; hit',
      })
      const { second } = await twice(h, path)
      expect(second.headers.get('cache-status')).toMatch(/^edge-cache; hit;.*, OriginCache; hit$/)
    },
  },
]
