import { expect } from 'vitest'
import type { Answer, ConformanceHarness, ConformanceRow } from '../row'

/**
 * RFC 9111 §5.2.1 request directives. `/echo/rfc-request/**` honours them (`requestDirectives = true`
 * in wrangler.toml); the default route (`/**`) ignores them, except `only-if-cached`, which never
 * costs the origin anything and is honoured everywhere.
 */
const ROUTE = 'rfc-request'
const FRESH = { 'cache-control': 'max-age=600' }
const ETAG = { ...FRESH, etag: '"v1"' }
/**
 * Fresh for one second: stale after STALE_MS (whatever second the origin's Date falls in). With a
 * validator, so the stale copy is kept (one without is gone once its usable life ends).
 */
const SHORT = { 'cache-control': 'max-age=1', etag: '"v1"' }
const STALE_MS = 2100

/** The echo's per-response id: tells a stored copy from a new origin answer. */
function id(answer: Answer): string {
  return (JSON.parse(answer.text) as { id: string }).id
}

function withCc(value: string): RequestInit {
  return { headers: { 'cache-control': value } }
}

/** A path whose first answer is stored; returns the path and that answer. */
async function stored(
  h: ConformanceHarness,
  headers: Record<string, string>,
  prefix: string | null = ROUTE
): Promise<{ path: string; first: Answer }> {
  const path = h.echo('r', headers, undefined, prefix ?? undefined)
  const first = await h.send(path)
  expect(first.status).toBe(200)
  expect(first.cacheStatus).toMatch(/stored/)
  return { path, first }
}

export const requestDirectiveRows: ConformanceRow[] = [
  {
    id: 'request-no-cache-revalidates',
    section: 'RFC 9111 §5.2.1.4',
    requirement:
      'request no-cache: a fresh stored copy is not used without successful validation (a conditional request)',
    run: async (h) => {
      const { path, first } = await stored(h, ETAG)
      const answer = await h.send(path, withCc('no-cache'))
      expect(answer.status).toBe(200)
      expect(answer.cacheStatus).toMatch(/fwd=request/)
      expect(answer.cacheStatus).toMatch(/fwd-status=304/)
      // Validated: the stored body, not a new one.
      expect(id(answer)).toBe(id(first))
      expect(await h.fetches(path)).toBe(2)
    },
  },
  {
    id: 'request-no-cache-refetches-without-validators',
    section: 'RFC 9111 §5.2.1.4',
    requirement:
      'request no-cache on a copy without validators: the origin answers in full and the new answer replaces the copy',
    run: async (h) => {
      const { path, first } = await stored(h, FRESH)
      const answer = await h.send(path, withCc('no-cache'))
      expect(answer.cacheStatus).toMatch(/fwd=request/)
      expect(answer.cacheStatus).toMatch(/stored/)
      expect(id(answer)).not.toBe(id(first))
      const after = await h.send(path)
      expect(after.cacheStatus).toMatch(/hit/)
      expect(id(after)).toBe(id(answer))
      expect(await h.fetches(path)).toBe(2)
    },
  },
  {
    id: 'request-pragma-no-cache',
    section: 'RFC 9111 §5.4',
    requirement:
      'Pragma: no-cache in a request without Cache-Control is read as Cache-Control: no-cache; with Cache-Control it is ignored',
    run: async (h) => {
      const { path } = await stored(h, ETAG)
      const ignored = await h.send(path, {
        headers: { pragma: 'no-cache', 'cache-control': 'max-stale=5' },
      })
      expect(ignored.cacheStatus).toMatch(/hit/)
      expect(await h.fetches(path)).toBe(1)
      const answer = await h.send(path, { headers: { pragma: 'no-cache' } })
      expect(answer.cacheStatus).toMatch(/fwd=request/)
      expect(await h.fetches(path)).toBe(2)
    },
  },
  {
    id: 'request-no-store-not-stored',
    section: 'RFC 9111 §5.2.1.5',
    requirement: 'request no-store: the response to it is not stored',
    run: async (h) => {
      const path = h.echo('r', FRESH, undefined, ROUTE)
      const answer = await h.send(path, withCc('no-store'))
      expect(answer.status).toBe(200)
      expect(answer.cacheStatus).not.toMatch(/stored/)
      const next = await h.send(path)
      expect(next.cacheStatus).toMatch(/fwd=miss/)
      expect(next.cacheStatus).toMatch(/stored/)
      expect(await h.fetches(path)).toBe(2)
    },
  },
  {
    id: 'request-no-store-keeps-others-copy',
    section: 'RFC 9111 §5.2.1.5',
    requirement:
      "request no-store is served from a stored copy and never evicts or replaces it (another client's copy stays)",
    run: async (h) => {
      const { path, first } = await stored(h, FRESH)
      const hit = await h.send(path, withCc('no-store'))
      expect(hit.cacheStatus).toMatch(/hit/)
      // Made to reach the origin: its answer goes to this client only.
      const own = await h.send(path, withCc('no-store, no-cache'))
      expect(own.cacheStatus).toMatch(/fwd=request/)
      expect(own.cacheStatus).not.toMatch(/stored/)
      expect(id(own)).not.toBe(id(first))
      const after = await h.send(path)
      expect(after.cacheStatus).toMatch(/hit/)
      expect(id(after)).toBe(id(first))
      expect(await h.fetches(path)).toBe(2)
    },
  },
  {
    id: 'request-max-age',
    section: 'RFC 9111 §5.2.1.1',
    requirement:
      'request max-age=N: a stored copy older than N seconds is not used without validation; a younger one is',
    run: async (h) => {
      // The origin's answer is already 100 s old (Age), fresh for 500 s more.
      const { path } = await stored(h, { ...ETAG, age: '100' })
      const young = await h.send(path, withCc('max-age=3600'))
      expect(young.cacheStatus).toMatch(/hit/)
      expect(await h.fetches(path)).toBe(1)
      const old = await h.send(path, withCc('max-age=50'))
      expect(old.cacheStatus).toMatch(/fwd=request/)
      expect(old.cacheStatus).toMatch(/fwd-status=304/)
      expect(await h.fetches(path)).toBe(2)
    },
  },
  {
    id: 'request-min-fresh',
    section: 'RFC 9111 §5.2.1.3',
    requirement:
      'request min-fresh=N: a copy that will not stay fresh for N more seconds is not used without validation',
    run: async (h) => {
      const { path } = await stored(h, ETAG)
      const enough = await h.send(path, withCc('min-fresh=60'))
      expect(enough.cacheStatus).toMatch(/hit/)
      expect(await h.fetches(path)).toBe(1)
      const short = await h.send(path, withCc('min-fresh=3600'))
      expect(short.cacheStatus).toMatch(/fwd=request/)
      expect(await h.fetches(path)).toBe(2)
    },
  },
  {
    id: 'request-max-stale',
    section: 'RFC 9111 §5.2.1.2',
    requirement:
      'request max-stale: a stale copy is used without validation (within N seconds when given)',
    run: async (h) => {
      const { path, first } = await stored(h, SHORT)
      await h.sleep(STALE_MS)
      const stale = await h.send(path, withCc('max-stale'))
      expect(stale.status).toBe(200)
      expect(stale.cacheStatus).toMatch(/hit/)
      expect(stale.cacheStatus).toMatch(/max-stale/)
      expect(id(stale)).toBe(id(first))
      const within = await h.send(path, withCc('max-stale=3600'))
      expect(within.cacheStatus).toMatch(/hit/)
      expect(await h.fetches(path)).toBe(1)
      // Stale by more than 0 s: max-stale=0 accepts nothing stale.
      const beyond = await h.send(path, withCc('max-stale=0'))
      expect(beyond.cacheStatus).toMatch(/fwd=stale/)
      expect(await h.fetches(path)).toBe(2)
    },
  },
  {
    id: 'request-max-stale-not-for-must-revalidate',
    section: 'RFC 9111 §5.2.2.2',
    requirement:
      'request max-stale does not override must-revalidate, proxy-revalidate or s-maxage on the stored response',
    run: async (h) => {
      const paths = await Promise.all(
        ['max-age=1, must-revalidate', 'max-age=1, proxy-revalidate', 's-maxage=1'].map(
          async (cc, i) => {
            // One path each: the origin counts fetches per path.
            const path = h.echo(`r${i}`, { 'cache-control': cc, etag: '"v1"' }, undefined, ROUTE)
            expect((await h.send(path)).cacheStatus).toMatch(/stored/)
            return path
          }
        )
      )
      await h.sleep(STALE_MS)
      for (const path of paths) {
        const answer = await h.send(path, withCc('max-stale'))
        expect(answer.cacheStatus).toMatch(/fwd=stale/)
        expect(await h.fetches(path)).toBe(2)
      }
    },
  },
  {
    id: 'request-only-if-cached-miss',
    section: 'RFC 9111 §5.2.1.7',
    requirement: 'only-if-cached with nothing stored: 504 and no origin contact',
    run: async (h) => {
      const path = h.echo('r', FRESH, undefined, ROUTE)
      const answer = await h.send(path, withCc('only-if-cached'))
      expect(answer.status).toBe(504)
      expect(answer.cacheStatus).toMatch(/detail=only-if-cached/)
      expect(await h.fetches(path)).toBe(0)
      // Nothing was stored by it either: the next request goes to the origin.
      expect((await h.send(path)).cacheStatus).toMatch(/fwd=miss/)
    },
  },
  {
    id: 'request-only-if-cached-hit',
    section: 'RFC 9111 §5.2.1.7',
    requirement: 'only-if-cached with a fresh stored copy: the stored response',
    run: async (h) => {
      const { path, first } = await stored(h, FRESH)
      const answer = await h.send(path, withCc('only-if-cached'))
      expect(answer.status).toBe(200)
      expect(answer.cacheStatus).toMatch(/hit/)
      expect(id(answer)).toBe(id(first))
      expect(await h.fetches(path)).toBe(1)
    },
  },
  {
    id: 'request-only-if-cached-stale',
    section: 'RFC 9111 §5.2.1.7',
    requirement:
      'only-if-cached with a copy that would need revalidation: 504, no origin contact (max-stale still lets it be used)',
    run: async (h) => {
      const { path } = await stored(h, SHORT)
      await h.sleep(STALE_MS)
      const answer = await h.send(path, withCc('only-if-cached'))
      expect(answer.status).toBe(504)
      const forced = await h.send(path, withCc('only-if-cached, no-cache'))
      expect(forced.status).toBe(504)
      expect(await h.fetches(path)).toBe(1)
      const accepted = await h.send(path, withCc('only-if-cached, max-stale'))
      expect(accepted.status).toBe(200)
      expect(accepted.cacheStatus).toMatch(/hit/)
      expect(await h.fetches(path)).toBe(1)
    },
  },
  {
    id: 'request-directives-off-by-default',
    section: 'RFC 9111 §5.2.1',
    requirement:
      "a route that does not honour request directives (the default): a client's no-cache, Pragma or max-age=0 storm never reaches the origin",
    run: async (h) => {
      const { path, first } = await stored(h, { ...ETAG, age: '100' }, null)
      for (const headers of <Record<string, string>[]>[
        { 'cache-control': 'no-cache' },
        { pragma: 'no-cache' },
        { 'cache-control': 'max-age=0' },
        { 'cache-control': 'min-fresh=100000' },
        { 'cache-control': 'no-cache, no-store, max-age=0' },
      ]) {
        const answer = await h.send(path, { headers })
        expect(answer.cacheStatus).toMatch(/hit/)
        expect(id(answer)).toBe(id(first))
      }
      expect(await h.fetches(path)).toBe(1)
    },
  },
  {
    id: 'request-no-store-ignored-by-default',
    section: 'RFC 9111 §5.2.1.5',
    requirement:
      "a route that does not honour request directives stores the answer to a client's no-store request (it cannot switch caching off for others)",
    run: async (h) => {
      const path = h.echo('r', FRESH)
      const answer = await h.send(path, withCc('no-store'))
      expect(answer.cacheStatus).toMatch(/stored/)
      expect((await h.send(path)).cacheStatus).toMatch(/hit/)
      expect(await h.fetches(path)).toBe(1)
    },
  },
  {
    id: 'request-max-stale-ignored-by-default',
    section: 'RFC 9111 §5.2.1.2',
    requirement: 'a route that does not honour request directives never serves stale for max-stale',
    run: async (h) => {
      const { path } = await stored(h, SHORT, null)
      await h.sleep(STALE_MS)
      const answer = await h.send(path, withCc('max-stale'))
      expect(answer.cacheStatus).toMatch(/fwd=stale/)
      expect(await h.fetches(path)).toBe(2)
    },
  },
  {
    id: 'request-only-if-cached-default-route',
    section: 'RFC 9111 §5.2.1.7',
    requirement:
      'only-if-cached is honoured on every route (it never costs the origin a fetch): 504 on a miss, the copy on a hit',
    run: async (h) => {
      const path = h.echo('r', FRESH)
      const miss = await h.send(path, withCc('only-if-cached'))
      expect(miss.status).toBe(504)
      expect(await h.fetches(path)).toBe(0)
      const first = await h.send(path)
      expect(first.cacheStatus).toMatch(/stored/)
      const hit = await h.send(path, withCc('only-if-cached'))
      expect(hit.status).toBe(200)
      expect(id(hit)).toBe(id(first))
      expect(await h.fetches(path)).toBe(1)
    },
  },
]
