import { expect } from 'vitest'
import type { Answer, ConformanceHarness, ConformanceRow } from '../row'

/**
 * RFC 9111 §3.5, answers to requests with Authorization. `/echo/rfc-auth/**` applies it
 * (`authorization = "rfc9111"` in wrangler.toml); the default route bypasses the cache for them. The
 * echo reflects the request's headers, so a body shows whose credential the origin saw.
 */
const ROUTE = 'rfc-auth'
const ALICE = { authorization: 'Bearer alice-secret' }
const BOB = { authorization: 'Bearer bob-secret' }
const STALE_MS = 2100

/** The credential the origin saw for this answer (undefined: none). */
function seen(answer: Answer): string | undefined {
  return (JSON.parse(answer.text) as { headers: Record<string, string> }).headers.authorization
}

function as(headers: Record<string, string>): RequestInit {
  return { headers }
}

function path(h: ConformanceHarness, cacheControl: string, extra: Record<string, string> = {}) {
  return h.echo('a', { 'cache-control': cacheControl, ...extra }, undefined, ROUTE)
}

/** Alice's request stores a copy shared with other credentials; Bob gets it from the cache. */
function sharedRow(id: string, cacheControl: string, requirement: string): ConformanceRow {
  return {
    id,
    section: 'RFC 9111 §3.5',
    requirement,
    run: async (h) => {
      const p = path(h, cacheControl)
      const alice = await h.send(p, as(ALICE))
      expect(alice.status).toBe(200)
      expect(alice.cacheStatus).toMatch(/stored/)
      expect(seen(alice)).toBe(ALICE.authorization)
      const bob = await h.send(p, as(BOB))
      expect(bob.cacheStatus).toMatch(/hit/)
      expect(await h.fetches(p)).toBe(1)
    },
  }
}

export const authorizationRows: ConformanceRow[] = [
  {
    id: 'auth-bypass-by-default',
    section: 'RFC 9111 §3.5',
    requirement:
      'by default (authorization = "bypass") a request with Authorization passes through: never stored, never served a copy',
    run: async (h) => {
      const p = h.echo('a', { 'cache-control': 'public, max-age=600' })
      const alice = await h.send(p, as(ALICE))
      expect(alice.cacheStatus).toMatch(/fwd=bypass; detail=authorization/)
      expect(seen(alice)).toBe(ALICE.authorization)
      const bob = await h.send(p, as(BOB))
      expect(bob.cacheStatus).toMatch(/fwd=bypass/)
      expect(seen(bob)).toBe(BOB.authorization)
      const anonymous = await h.send(p)
      expect(anonymous.cacheStatus).toMatch(/fwd=miss/)
      expect(seen(anonymous)).toBeUndefined()
      expect(await h.fetches(p)).toBe(3)
    },
  },
  sharedRow(
    'auth-public-shared',
    'public, max-age=600',
    'an answer to an authorised request with `public` is stored and reused for other credentials'
  ),
  sharedRow(
    'auth-s-maxage-shared',
    's-maxage=600',
    'an answer to an authorised request with `s-maxage` is stored and reused for other credentials'
  ),
  sharedRow(
    'auth-must-revalidate-shared-while-fresh',
    'max-age=600, must-revalidate',
    'an answer to an authorised request with `must-revalidate` is reused for other credentials while fresh'
  ),
  {
    id: 'auth-plain-not-stored',
    section: 'RFC 9111 §3.5',
    requirement:
      'an answer to an authorised request without public, s-maxage or must-revalidate is not stored: each credential gets its own',
    run: async (h) => {
      const p = path(h, 'max-age=600')
      const alice = await h.send(p, as(ALICE))
      expect(alice.cacheStatus).not.toMatch(/stored/)
      expect(alice.cacheStatus).toMatch(/detail=authorization/)
      const bob = await h.send(p, as(BOB))
      expect(seen(bob)).toBe(BOB.authorization)
      expect(bob.text).not.toContain('alice')
      expect(await h.fetches(p)).toBe(2)
    },
  },
  {
    id: 'auth-private-never-shared',
    section: 'RFC 9111 §3.5',
    requirement:
      "Alice's `private` answer never reaches Bob or an anonymous client, even with public/must-revalidate beside it",
    run: async (h) => {
      const p = path(h, 'private, public, must-revalidate, max-age=600')
      const alice = await h.send(p, as(ALICE))
      expect(alice.cacheStatus).not.toMatch(/stored/)
      const bob = await h.send(p, as(BOB))
      expect(seen(bob)).toBe(BOB.authorization)
      const anonymous = await h.send(p)
      expect(seen(anonymous)).toBeUndefined()
      for (const answer of [bob, anonymous]) expect(answer.text).not.toContain('alice')
      expect(await h.fetches(p)).toBe(3)
    },
  },
  {
    id: 'auth-anonymous-never-gets-authorised-copy',
    section: 'RFC 9111 §3.5',
    requirement:
      'a copy stored for an authorised request is never served to an anonymous one (the partitions are apart)',
    run: async (h) => {
      const p = path(h, 'public, max-age=600')
      expect((await h.send(p, as(ALICE))).cacheStatus).toMatch(/stored/)
      const anonymous = await h.send(p)
      expect(anonymous.cacheStatus).toMatch(/fwd=/)
      expect(seen(anonymous)).toBeUndefined()
      expect(anonymous.text).not.toContain('alice')
      // Each partition now has its copy.
      expect(seen(await h.send(p))).toBeUndefined()
      expect(seen(await h.send(p, as(BOB)))).toBe(ALICE.authorization)
      expect(await h.fetches(p)).toBe(2)
    },
  },
  {
    id: 'auth-authorised-never-gets-anonymous-copy',
    section: 'RFC 9111 §3.5',
    requirement:
      'an authorised request is never served a copy stored for an anonymous one (the origin may answer it differently)',
    run: async (h) => {
      const p = path(h, 'public, max-age=600')
      expect((await h.send(p)).cacheStatus).toMatch(/stored/)
      const alice = await h.send(p, as(ALICE))
      expect(alice.cacheStatus).toMatch(/fwd=/)
      expect(seen(alice)).toBe(ALICE.authorization)
      expect(await h.fetches(p)).toBe(2)
    },
  },
  {
    id: 'auth-vary-authorization-not-shared',
    section: 'RFC 9111 §3.5',
    requirement:
      'a public answer that varies on Authorization is per-credential: not shared across credentials (and no credential is put in a key)',
    run: async (h) => {
      const p = path(h, 'public, max-age=600', { vary: 'Authorization' })
      const alice = await h.send(p, as(ALICE))
      expect(alice.cacheStatus).not.toMatch(/stored/)
      const bob = await h.send(p, as(BOB))
      expect(seen(bob)).toBe(BOB.authorization)
      expect(await h.fetches(p)).toBe(2)
    },
  },
  {
    id: 'auth-stale-revalidated-with-own-credentials',
    section: 'RFC 9111 §3.5',
    requirement:
      "a stale must-revalidate copy is revalidated with the requester's own credentials before it is used",
    run: async (h) => {
      // The origin's representation changes after the first fetch (a new ETag): the revalidation
      // gets a full answer, which shows whose credential the origin saw.
      const p = h.echo(
        'a',
        { 'cache-control': 'max-age=1, must-revalidate', etag: '"v1"' },
        `h2-etag=${encodeURIComponent('"v2"')}`,
        ROUTE
      )
      expect(seen(await h.send(p, as(ALICE)))).toBe(ALICE.authorization)
      await h.sleep(STALE_MS)
      const bob = await h.send(p, as(BOB))
      expect(bob.cacheStatus).toMatch(/fwd=stale; fwd-status=200/)
      expect(seen(bob)).toBe(BOB.authorization)
      expect(await h.fetches(p)).toBe(2)
    },
  },
  {
    id: 'auth-refused-refresh-keeps-shared-copy',
    section: 'RFC 9111 §3.5',
    requirement:
      "one credential's refused answer (a private 401 on refresh) never evicts the copy other credentials share",
    run: async (h) => {
      // From the second fetch on, the origin refuses: 401, private (as for a bad credential).
      const p = h.echo(
        'a',
        { 'cache-control': 'public, max-age=1, stale-while-revalidate=600' },
        `status2=401&h2-cache-control=private`,
        ROUTE
      )
      expect((await h.send(p, as(ALICE))).cacheStatus).toMatch(/stored/)
      await h.sleep(STALE_MS)
      // Bob's stale hit refreshes in the background with his credential: the origin says 401, private.
      const bob = await h.send(p, as(BOB))
      expect(bob.status).toBe(200)
      expect(bob.cacheStatus).toMatch(/stale-while-revalidate/)
      // The refresh runs behind Bob's answer: wait until it has reached the origin (however long a
      // busy machine takes), then give the cache a moment to act on the 401.
      const deadline = Date.now() + 15_000
      while ((await h.fetches(p)) < 2 && Date.now() < deadline) await h.sleep(100)
      expect(await h.fetches(p)).toBeGreaterThanOrEqual(2)
      await h.sleep(h.where === 'e2e' ? 300 : 0)
      const alice = await h.send(p, as(ALICE))
      expect(alice.status).toBe(200)
      expect(alice.cacheStatus).toMatch(/hit/)
      expect(seen(alice)).toBe(ALICE.authorization)
    },
  },
  {
    id: 'auth-credential-not-echoed-in-cache-status',
    section: 'RFC 9111 §3.5',
    requirement:
      'a credential never appears in what the cache adds to a response (Cache-Status and the stored fields)',
    run: async (h) => {
      const p = path(h, 'public, max-age=600')
      await h.send(p, as(ALICE))
      const bob = await h.send(p, as(BOB))
      for (const answer of [bob]) {
        expect(answer.cacheStatus).not.toMatch(/secret/)
        for (const [name, value] of answer.headers) {
          if (name !== 'content-length') expect(`${name}: ${value}`).not.toMatch(/bob-secret/)
        }
      }
    },
  },
]
