import { expect } from 'vitest'
import type { ConformanceHarness, ConformanceRow } from '../row'
import { idOf, notStored, storedAndReused } from './helpers'

// The target list of wrangler.toml (the default): Cloudflare-CDN-Cache-Control, then CDN-Cache-Control.
const CF = 'cloudflare-cdn-cache-control'
const CDN = 'cdn-cache-control'

/** Stored, but not reused without the origin once `afterMs` has passed. */
async function staleAfter(h: ConformanceHarness, path: string, afterMs: number) {
  await h.send(path)
  if (afterMs > 0) await h.sleep(afterMs)
  const again = await h.send(path)
  expect(again.cacheStatus).not.toMatch(/; hit/)
  expect(await h.fetches(path)).toBe(2)
}

export const targetedFieldRows: ConformanceRow[] = [
  {
    id: 'targeted-cdn-over-cache-control',
    section: 'RFC 9213 §2.2, §3.1',
    requirement:
      'a valid CDN-Cache-Control replaces Cache-Control: CDN max-age=600 + CC no-store is stored and reused',
    run: (h) =>
      storedAndReused(h, h.echo('t', { [CDN]: 'max-age=600', 'cache-control': 'no-store' })),
  },
  {
    id: 'targeted-cloudflare-over-cdn-restrictive',
    section: 'RFC 9213 §2.2',
    requirement:
      'the first field of the target list wins: Cloudflare-CDN no-store over CDN max-age',
    run: (h) =>
      notStored(
        h,
        h.echo('t', { [CF]: 'no-store', [CDN]: 'max-age=60', 'cache-control': 'max-age=60' })
      ),
  },
  {
    id: 'targeted-cloudflare-over-cdn-permissive',
    section: 'RFC 9213 §2.2',
    requirement:
      'the first field of the target list wins: Cloudflare-CDN max-age over CDN no-store',
    run: (h) =>
      storedAndReused(
        h,
        h.echo('t', { [CF]: 'max-age=60', [CDN]: 'no-store', 'cache-control': 'no-store' })
      ),
  },
  {
    id: 'targeted-max-age-longer-age-grows',
    section: 'RFC 9213 §2.2, §2.3; RFC 9111 §4.2.3',
    requirement:
      "a targeted max-age longer than Cache-Control's keeps the copy fresh, and Age keeps growing past CC's max-age",
    run: async (h) => {
      const path = h.echo('t', { [CDN]: 'max-age=600', 'cache-control': 'max-age=1' })
      await h.send(path)
      await h.sleep(2100)
      const later = await h.send(path)
      expect(later.cacheStatus).toMatch(/; hit; /)
      expect(Number(later.headers.get('age'))).toBeGreaterThanOrEqual(2)
      expect(later.headers.get('cache-control')).toBe('max-age=1')
      expect(await h.fetches(path)).toBe(1)
    },
  },
  {
    id: 'targeted-max-age-shorter',
    section: 'RFC 9213 §2.2',
    requirement: "a targeted max-age shorter than Cache-Control's makes the copy stale sooner",
    run: (h) =>
      staleAfter(h, h.echo('t', { [CDN]: 'max-age=1', 'cache-control': 'max-age=600' }), 2100),
  },
  {
    id: 'targeted-no-store',
    section: 'RFC 9213 §2.2; RFC 9111 §5.2.2.5',
    requirement: 'a targeted no-store prevents storing, whatever Cache-Control allows',
    run: (h) =>
      notStored(h, h.echo('t', { [CDN]: 'no-store', 'cache-control': 'public, max-age=60' })),
  },
  {
    id: 'targeted-private',
    section: 'RFC 9213 §2.2; RFC 9111 §5.2.2.7',
    requirement:
      'a targeted private prevents storing in this shared cache, whatever Cache-Control allows',
    run: (h) =>
      notStored(h, h.echo('t', { [CDN]: 'private', 'cache-control': 'public, max-age=60' })),
  },
  {
    id: 'targeted-no-cache-revalidates',
    section: 'RFC 9213 §2.2; RFC 9111 §5.2.2.4',
    requirement: 'a targeted no-cache with a validator is stored but revalidated before every use',
    run: async (h) => {
      const path = h.echo('t', { [CDN]: 'no-cache', 'cache-control': 'max-age=600', etag: '"v1"' })
      await h.send(path)
      const second = await h.send(path)
      expect(second.status).toBe(200)
      expect(second.cacheStatus).toMatch(/fwd=stale; fwd-status=304/)
      expect(await h.fetches(path)).toBe(2)
    },
  },
  {
    id: 'targeted-must-revalidate',
    section: 'RFC 9213 §2.2; RFC 9111 §5.2.2.2',
    requirement:
      "a targeted must-revalidate rules out serving stale (Cache-Control's stale-while-revalidate is ignored)",
    run: (h) =>
      staleAfter(
        h,
        h.echo('t', {
          [CDN]: 'max-age=1, must-revalidate',
          'cache-control': 'max-age=1, stale-while-revalidate=600',
        }),
        2100
      ),
  },
  {
    id: 'targeted-stale-while-revalidate',
    section: 'RFC 9213 §2.2; RFC 5861 §3',
    requirement: 'a targeted stale-while-revalidate lets a stale copy be served while it refreshes',
    run: async (h) => {
      const path = h.echo('t', {
        [CDN]: 'max-age=1, stale-while-revalidate=600',
        'cache-control': 'max-age=1',
      })
      const first = await h.send(path)
      await h.sleep(2100)
      const stale = await h.send(path)
      expect(stale.cacheStatus).toMatch(/; hit; .*stale-while-revalidate/)
      expect(idOf(stale.text)).toBe(idOf(first.text))
    },
  },
  {
    id: 'targeted-stale-if-error',
    section: 'RFC 9213 §2.2; RFC 5861 §4',
    requirement: 'a targeted stale-if-error lets a stale copy answer when the origin fails',
    run: async (h) => {
      const path = h.echo(
        't',
        { [CDN]: 'max-age=1, stale-if-error=600', 'cache-control': 'max-age=1' },
        `status2=500&h2-${CDN}=no-store`
      )
      const first = await h.send(path)
      await h.sleep(2100)
      const stale = await h.send(path)
      expect(stale.status).toBe(200)
      expect(stale.cacheStatus).toMatch(/stale-if-error/)
      expect(idOf(stale.text)).toBe(idOf(first.text))
    },
  },
  {
    id: 'targeted-s-maxage',
    section: 'RFC 9213 §2.2; RFC 9111 §5.2.2.10',
    requirement:
      'a targeted s-maxage wins over its max-age=0 (and Cache-Control no-store is ignored)',
    run: (h) =>
      storedAndReused(
        h,
        h.echo('t', { [CDN]: 'max-age=0, s-maxage=600', 'cache-control': 'no-store' })
      ),
  },
  {
    id: 'targeted-expires-ignored-future',
    section: 'RFC 9213 §2.2',
    requirement:
      'Expires is ignored under a targeted field: a future Expires gives no freshness (not stored)',
    run: (h) =>
      notStored(
        h,
        h.echo('t', {
          [CDN]: 'public',
          expires: new Date(Date.now() + 600_000).toUTCString(),
        })
      ),
  },
  {
    id: 'targeted-expires-ignored-past',
    section: 'RFC 9213 §2.2',
    requirement: 'Expires is ignored under a targeted field: a past Expires does not make it stale',
    run: (h) =>
      storedAndReused(
        h,
        h.echo('t', { [CDN]: 'max-age=600', expires: 'Thu, 01 Jan 1970 00:00:00 GMT' })
      ),
  },
  {
    id: 'targeted-invalid-falls-back-private',
    section: 'RFC 9213 §2.1',
    requirement:
      'an invalid targeted field is ignored as a whole: Cache-Control private still prevents storing',
    run: (h) =>
      notStored(
        h,
        h.echo('t', { [CDN]: 'max-age=60;no-store garbage', 'cache-control': 'private' })
      ),
  },
  {
    id: 'targeted-invalid-never-half-read',
    section: 'RFC 9213 §2.1',
    requirement:
      "an invalid targeted field is not half-read: its no-store does not count, Cache-Control's max-age does",
    run: (h) =>
      storedAndReused(
        h,
        h.echo('t', { [CDN]: 'no-store, Max-Age=60', 'cache-control': 'public, max-age=600' })
      ),
  },
  {
    id: 'targeted-invalid-next-field',
    section: 'RFC 9213 §2.1, §2.2',
    requirement:
      'an invalid first targeted field falls back to the next valid one, not to Cache-Control',
    run: (h) =>
      storedAndReused(
        h,
        h.echo('t', { [CF]: 'max-age=600,', [CDN]: 'max-age=600', 'cache-control': 'no-store' })
      ),
  },
  {
    id: 'targeted-empty-ignored',
    section: 'RFC 9213 §2.1',
    requirement: 'an empty targeted field is ignored: Cache-Control no-store applies',
    run: (h) => notStored(h, h.echo('t', { [CDN]: '', 'cache-control': 'no-store' })),
  },
  {
    id: 'targeted-non-integer-max-age-stale',
    section: 'RFC 9213 §2.1; RFC 9111 §4.2.1',
    requirement:
      'a targeted max-age that is not an Integer is not coerced: the response is stale (not reused unvalidated)',
    run: (h) =>
      staleAfter(h, h.echo('t', { [CDN]: 'max-age=1.5', 'cache-control': 'max-age=600' }), 0),
  },
  {
    id: 'targeted-consumed-stripped',
    section: 'RFC 9213 §2.2, §3',
    requirement:
      'the targeted field this cache used is not sent on; other targeted fields and Cache-Control are, unchanged',
    run: async (h) => {
      const path = h.echo('t', {
        [CF]: 'max-age=600',
        [CDN]: 'max-age=30',
        'cache-control': 'max-age=10, public',
      })
      for (const answer of [await h.send(path), await h.send(path)]) {
        expect(answer.headers.has(CF)).toBe(false)
        expect(answer.headers.get(CDN)).toBe('max-age=30')
        expect(answer.headers.get('cache-control')).toBe('max-age=10, public')
      }
      expect(await h.fetches(path)).toBe(1)
    },
  },
  {
    id: 'targeted-consumed-stripped-forwarded',
    section: 'RFC 9213 §2.2, §3',
    requirement:
      'an answer passed on unstored does not carry the targeted field this cache used either',
    run: async (h) => {
      const path = h.echo('t', {
        [CDN]: 'no-store',
        'example-cache-control': 'max-age=5',
        'cache-control': 'max-age=60',
      })
      const answer = await h.send(path)
      expect(answer.cacheStatus).not.toMatch(/stored/)
      expect(answer.headers.has(CDN)).toBe(false)
      expect(answer.headers.get('example-cache-control')).toBe('max-age=5')
      expect(answer.headers.get('cache-control')).toBe('max-age=60')
    },
  },
  {
    id: 'targeted-not-on-list-passes',
    section: 'RFC 9213 §2.2',
    requirement: "a targeted field not on this cache's list changes nothing and is passed through",
    run: async (h) => {
      const path = h.echo('t', {
        'example-cache-control': 'no-store',
        'cache-control': 'max-age=600',
      })
      await storedAndReused(h, path)
      const again = await h.send(path)
      expect(again.headers.get('example-cache-control')).toBe('no-store')
    },
  },
  {
    id: 'targeted-304-keeps-field',
    section: 'RFC 9213 §2.2; RFC 9111 §4.3.4',
    requirement:
      'after a 304 the refreshed copy is still governed by the stored targeted field (stored again, reused)',
    run: async (h) => {
      // The 304 carries the targeted field with a minute's lifetime (Cache-Control still no-store),
      // so the reuse does not hang on how fast a busy machine sends the next request.
      const path = h.echo(
        't',
        { [CDN]: 'max-age=3', 'cache-control': 'no-store', etag: '"v1"' },
        `h304-${CDN}=max-age%3D60`
      )
      await h.send(path)
      await h.sleep(3100)
      const revalidated = await h.send(path)
      expect(revalidated.cacheStatus).toMatch(/fwd=stale; fwd-status=304.*stored/)
      expect(revalidated.headers.has(CDN)).toBe(false)
      const reused = await h.send(path)
      expect(reused.cacheStatus).toMatch(/; hit; /)
      expect(await h.fetches(path)).toBe(2)
    },
  },
]
