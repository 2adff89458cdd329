import { expect } from 'vitest'
import type { ConformanceHarness, ConformanceRow } from '../row'
import { idOf, notStored } from './helpers'

/**
 * Stored on the first request, the same copy on the second, one origin fetch; both answers carry
 * `status` (helpers.ts's storedAndReused does not check the status).
 */
async function storedAndReused(h: ConformanceHarness, path: string, status: number) {
  const first = await h.send(path)
  expect(first.status).toBe(status)
  expect(first.cacheStatus).toMatch(/fwd=miss.*stored/)
  const second = await h.send(path)
  expect(second.status).toBe(status)
  expect(second.cacheStatus).toMatch(/; hit; /)
  expect(idOf(second.text)).toBe(idOf(first.text))
  expect(await h.fetches(path)).toBe(1)
}

const explicitStatuses = [299, 400, 499, 500, 502, 503, 504, 599]

export const statusRows: ConformanceRow[] = [
  ...explicitStatuses.map((status): ConformanceRow => ({
    id: `status-${status}-max-age`,
    section: 'RFC 9111 §3',
    requirement: `a final ${status} with explicit freshness (max-age) is stored and reused while fresh`,
    run: (h) =>
      storedAndReused(
        h,
        h.echo('s', { 'cache-control': 'max-age=60' }, `status=${status}`),
        status
      ),
  })),
  {
    id: 'status-500-s-maxage',
    section: 'RFC 9111 §3',
    requirement: 'a 500 with s-maxage is stored and reused while fresh',
    run: (h) =>
      storedAndReused(h, h.echo('s', { 'cache-control': 's-maxage=60' }, 'status=500'), 500),
  },
  {
    id: 'status-503-expires',
    section: 'RFC 9111 §3, §5.3',
    requirement: 'a 503 with a future Expires is stored and reused while fresh',
    run: (h) =>
      storedAndReused(
        h,
        h.echo('s', { expires: new Date(Date.now() + 600_000).toUTCString() }, 'status=503'),
        503
      ),
  },
  {
    id: 'status-500-not-after-expiry',
    section: 'RFC 9111 §4.2',
    requirement: 'a stored 500 is not reused once stale (the next request reaches the origin)',
    run: async (h) => {
      const path = h.echo('s', { 'cache-control': 'max-age=1' }, 'status=500')
      await h.send(path)
      await h.sleep(2100)
      const again = await h.send(path)
      expect(again.status).toBe(500)
      expect(again.cacheStatus).not.toMatch(/; hit/)
      expect(await h.fetches(path)).toBe(2)
    },
  },
  {
    id: 'status-500-without-freshness',
    section: 'RFC 9111 §3',
    requirement: 'a 500 without explicit freshness is not stored',
    run: (h) => notStored(h, h.echo('s', {}, 'status=500')),
  },
  {
    id: 'status-299-no-heuristic',
    section: 'RFC 9111 §4.2.2',
    requirement:
      'a status that is not heuristically cacheable (299) is not stored on Last-Modified alone',
    run: (h) =>
      notStored(h, h.echo('s', { 'last-modified': 'Wed, 01 Jan 2020 00:00:00 GMT' }, 'status=299')),
  },
  {
    id: 'status-299-heuristic-public',
    section: 'RFC 9111 §4.2.2',
    requirement: 'public makes any status heuristically cacheable (Last-Modified, no lifetime)',
    run: (h) =>
      storedAndReused(
        h,
        h.echo(
          's',
          { 'cache-control': 'public', 'last-modified': 'Wed, 01 Jan 2020 00:00:00 GMT' },
          'status=299'
        ),
        299
      ),
  },
  {
    id: 'status-200-heuristic',
    section: 'RFC 9111 §4.2.2',
    requirement: 'a 200 with Last-Modified and no lifetime gets a heuristic lifetime and is stored',
    run: (h) =>
      storedAndReused(h, h.echo('s', { 'last-modified': 'Wed, 01 Jan 2020 00:00:00 GMT' }), 200),
  },
  {
    id: 'status-404-negative',
    section: 'RFC 9111 §4.2.2 (negative caching policy)',
    requirement: 'a 404 without explicit freshness is kept briefly (negativeCache.ttlSeconds)',
    run: (h) => storedAndReused(h, h.echo('s', {}, 'status=404'), 404),
  },
  {
    id: 'status-206-not-stored',
    section: 'RFC 9111 §3.3',
    requirement: 'a 206 from the origin is never stored as if it were complete',
    run: (h) =>
      notStored(
        h,
        h.echo(
          's',
          { 'cache-control': 'max-age=60', 'content-range': 'bytes 0-9/100' },
          'status=206'
        )
      ),
  },
  {
    id: 'status-stored-500-not-failure',
    section: 'RFC 9111 §3 (origin breaker policy)',
    requirement: 'stored 500s on many URLs are answers: they never open the origin breaker',
    run: async (h) => {
      for (let i = 0; i < 25; i++)
        await h.send(h.echo(`e${i}`, { 'cache-control': 'max-age=60' }, 'status=500'))
      const other = await h.send(h.echo('ok', { 'cache-control': 'max-age=60' }))
      expect(other.status).toBe(200)
      expect(other.cacheStatus).toMatch(/fwd=miss.*stored/)
    },
  },
  {
    id: 'status-stale-if-error',
    section: 'RFC 5861 §4',
    requirement: 'stale-if-error serves the stale copy when the origin answers 5xx',
    run: async (h) => {
      const path = h.echo(
        's',
        { 'cache-control': 'max-age=1, stale-if-error=60' },
        'h2-cache-control=no-store&status2=503'
      )
      const first = await h.send(path)
      await h.sleep(2100)
      const stale = await h.send(path)
      expect(stale.status).toBe(200)
      expect(idOf(stale.text)).toBe(idOf(first.text))
      expect(stale.cacheStatus).toMatch(/fwd=stale.*fwd-status=503.*stale-if-error/)
    },
  },
  {
    id: 'status-stale-if-error-over-stored-5xx',
    section: 'RFC 5861 §4',
    requirement: 'a 5xx that is itself storable still lets stale-if-error serve the stale copy',
    run: async (h) => {
      const path = h.echo('s', { 'cache-control': 'max-age=1, stale-if-error=60' }, 'status2=502')
      const first = await h.send(path)
      await h.sleep(2100)
      const stale = await h.send(path)
      expect(stale.status).toBe(200)
      expect(idOf(stale.text)).toBe(idOf(first.text))
    },
  },
  {
    id: 'status-must-revalidate-no-stale-on-error',
    section: 'RFC 9111 §5.2.2.2',
    requirement: 'a must-revalidate copy is never served stale when the origin fails',
    run: async (h) => {
      const path = h.echo(
        's',
        { 'cache-control': 'max-age=1, must-revalidate, stale-if-error=60' },
        'status2=503'
      )
      await h.send(path)
      await h.sleep(2100)
      const after = await h.send(path)
      expect(after.status).toBe(503)
    },
  },
]
