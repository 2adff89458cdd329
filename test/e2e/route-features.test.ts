/**
 * Route features under `wrangler dev` with real L2 regions: the penetration guard
 * (`routes[].membership`), TTL jitter (`routes[].freshnessJitter`) and write-through
 * (`routes[].writeThrough`). global-setup.ts adds their routes on paths of their own.
 */
import { describe, expect, inject, it } from 'vitest'

const workerUrl = inject('workerUrl')
const originUrl = inject('originUrl')
const run = crypto.randomUUID().slice(0, 8)

interface Answer {
  readonly status: number
  readonly cacheStatus: string
  readonly cacheControl: string | null
  readonly body: string
}

async function get(path: string, init?: RequestInit): Promise<Answer> {
  const response = await fetch(`${workerUrl}${path}`, init)
  return {
    status: response.status,
    cacheStatus: response.headers.get('cache-status') ?? '',
    cacheControl: response.headers.get('cache-control'),
    body: await response.text(),
  }
}

/** The demo origin's fetch count per path (query excluded). */
async function originByPath(): Promise<Record<string, number>> {
  const stats = (await (await fetch(`${originUrl}/__origin/stats`)).json()) as {
    byPath: Record<string, number>
  }
  return stats.byPath
}

const fetchesOf = async (paths: readonly string[]) => {
  const byPath = await originByPath()
  return paths.reduce((sum, path) => sum + (byPath[path.split('?')[0]!] ?? 0), 0)
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Calls `probe` until it returns a value, at most `attempts` times, `pauseMs` apart. */
async function pollUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  attempts = 100,
  pauseMs = 200
): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const value = await probe()
    if (value !== undefined) return value
    await sleep(pauseMs)
  }
  throw new Error(`gave up waiting for ${what} after ${attempts} attempts`)
}

const ttlOf = (cacheStatus: string) => Number(/; ttl=(-?\d+)/.exec(cacheStatus)?.[1] ?? NaN)

describe('penetration guard (routes[].membership) under wrangler dev', () => {
  // Ids 1..20 (and any the catalogue gained) are listed; these never will be.
  const base = 500_000 + Math.floor(Math.random() * 400_000)
  const guarded = (id: string | number) => `/echo/e2e-membership/${id}`
  const ABSENT = 'edge-cache; detail=membership-absent'

  it('once the list is loaded, absent ids get a 404 at the edge; listed ids are served and cached', async () => {
    // The guard is open until the list has loaded (in the background of the first request):
    // absent ids probed meanwhile pass to the origin, which the echo route answers.
    let probe = 0
    const passedWhileLoading: string[] = []
    await pollUntil('the id list to load', async () => {
      const path = guarded(base + probe++)
      const answer = await get(path)
      if (answer.cacheStatus === ABSENT) return true
      passedWhileLoading.push(path)
      return undefined
    })
    expect(await fetchesOf(passedWhileLoading)).toBe(passedWhileLoading.length)

    const absent = Array.from({ length: 30 }, (_, i) => guarded(base + 1000 + i))
    const answers = await Promise.all(absent.map((path) => get(path)))
    expect(answers.filter((a) => a.status === 404)).toHaveLength(30)
    expect(answers.filter((a) => a.cacheStatus === ABSENT)).toHaveLength(30)
    expect(answers.filter((a) => a.cacheControl === 'no-store')).toHaveLength(30)
    expect(JSON.parse(answers[0]!.body).error.code).toBe('not_found')
    // Asked again: still stopped at the edge, and the origin never saw one of them.
    const again = await Promise.all(absent.map((path) => get(path)))
    expect(again.filter((a) => a.cacheStatus === ABSENT)).toHaveLength(30)
    expect(await fetchesOf(absent)).toBe(0)

    // Listed ids pass the guard: one origin fetch each, then hits.
    const listed = [1, 2, 3, 4, 5].map((id) => `${guarded(id)}?run=${run}`)
    const before = await fetchesOf(listed)
    const first = await Promise.all(listed.map((path) => get(path)))
    expect(first.map((a) => a.status)).toEqual([200, 200, 200, 200, 200])
    expect(first.filter((a) => /fwd=miss; ttl=\d+; stored/.test(a.cacheStatus))).toHaveLength(5)
    const second = await Promise.all(listed.map((path) => get(path)))
    expect(second.filter((a) => /; hit; /.test(a.cacheStatus))).toHaveLength(5)
    expect(second.map((a) => a.body)).toEqual(first.map((a) => a.body))
    expect((await fetchesOf(listed)) - before).toBe(5)
  })

  it('spellings that normalise to an absent id are stopped too; ambiguous ones are never stored', async () => {
    // The filter is loaded by the test above (same isolate, same list); wait for it regardless.
    await pollUntil('the id list to load', async () =>
      (await get(guarded(base + 2000))).cacheStatus === ABSENT ? true : undefined
    )
    const id = String(base + 3000)
    const escaped = [...id].map((digit) => `%${digit.charCodeAt(0).toString(16)}`).join('')
    const spellings = [
      `/echo/e2e-membership/${escaped}`, // every digit percent-encoded
      `/echo/e2e-m%65mbership/${id}`, // an escape in the route's prefix
      `/%65cho/e2e-membership/${escaped.toUpperCase()}`,
      `/echo/e2e-membership/${id}?${run}=1`, // the query is not the id
    ]
    for (const spelling of spellings) {
      const answer = await get(spelling)
      expect(answer.status, spelling).toBe(404)
      expect(answer.cacheStatus, spelling).toBe(ABSENT)
    }
    expect(await fetchesOf([guarded(id)])).toBe(0)
    // A listed id percent-encoded is still that id: served.
    expect((await get(`/echo/e2e-membership/%31?run=${run}-escaped`)).status).toBe(200)

    // Encoded separators and segment parameters: an absent id in them is stopped too (a lenient
    // origin would read /…/<id>); with a listed id they pass through as ambiguous, never stored.
    for (const spelling of [
      `/echo/e2e-membership/x%2F${base + 3001}`,
      `/echo/e2e-membership/${base + 3002};x=1`,
      `/echo/e2e-membership/${base + 3003}/`,
      `/ECHO/e2e-membership/${base + 3004}`,
    ]) {
      const answer = await get(spelling)
      expect(answer.status, spelling).toBe(404)
      expect(answer.cacheStatus, spelling).toBe(ABSENT)
    }
    const byPath = await originByPath()
    for (const id of [base + 3001, base + 3002, base + 3003, base + 3004]) {
      const reached = Object.keys(byPath).filter((path) => path.includes(String(id)))
      expect(reached, String(id)).toEqual([])
    }
    for (const spelling of [
      `/echo/e2e-membership/1;x=${run}`,
      `/echo/e2e-membership/%31;v=${run}`,
    ]) {
      const first = await get(spelling)
      expect(first.status, spelling).toBeLessThan(500)
      expect(first.cacheStatus, spelling).toContain('fwd=bypass; detail=ambiguous-path')
      const second = await get(spelling)
      expect(second.cacheStatus, spelling).not.toMatch(/; hit|; stored/)
    }
  })
})

describe('TTL jitter (routes[].freshnessJitter) under wrangler dev', () => {
  // global-setup.ts: both routes ttl=100; the jittered one with freshnessJitter=0.5.
  const TTL = 100
  const fill = async (prefix: string) => {
    const paths = Array.from({ length: 30 }, (_, i) => `/echo/${prefix}/${run}/${i}`)
    const answers = await Promise.all(paths.map((path) => get(path)))
    expect(answers.map((a) => a.status)).toEqual(new Array(30).fill(200))
    expect(answers.filter((a) => /fwd=miss; ttl=\d+; stored/.test(a.cacheStatus))).toHaveLength(30)
    return { paths, ttls: answers.map((a) => ttlOf(a.cacheStatus)) }
  }

  it('keys filled together get different freshness, shortened by at most the jitter, never lengthened', async () => {
    const { paths, ttls } = await fill('e2e-jitter')
    expect(ttls.filter((ttl) => ttl <= TTL)).toHaveLength(30)
    expect(ttls.filter((ttl) => ttl >= TTL / 2)).toHaveLength(30)
    // 30 draws over ~50 whole seconds: equal values are rare, a handful of them is impossible.
    expect(new Set(ttls).size).toBeGreaterThanOrEqual(10)
    // Served from the stored copies: each keeps its own shortened freshness.
    const hits = await Promise.all(paths.map((path) => get(path)))
    expect(hits.filter((a) => /; hit; /.test(a.cacheStatus))).toHaveLength(30)
    expect(hits.filter((a, i) => ttlOf(a.cacheStatus) <= ttls[i]!)).toHaveLength(30)
  })

  it('without jitter, keys filled together all get the route’s TTL', async () => {
    const { ttls } = await fill('e2e-no-jitter')
    expect(ttls).toEqual(new Array(30).fill(TTL))
  })
})

describe('write-through (routes[].writeThrough) under wrangler dev', () => {
  const url = (name: string, extra = '') =>
    `/echo/e2e-write-through/${run}/${name}?h-cache-control=max-age%3D300${extra}`
  /** Waits until the origin has seen `count` fetches of the path. */
  const originReaches = (path: string, count: number) =>
    pollUntil(`${count} origin fetches of ${path}`, async () =>
      (await fetchesOf([path])) >= count ? true : undefined
    )

  it.each(['PUT', 'POST'])(
    'after a successful %s the next reader hits the new representation, refilled once',
    async (method) => {
      const path = url(`ok-${method}`)
      const first = await get(path)
      expect(first.cacheStatus).toMatch(/fwd=miss; ttl=\d+; stored/)
      expect((await get(path)).cacheStatus).toMatch(/; hit; /)

      const write = await get(path, { method, body: 'new' })
      expect(write.status).toBe(200)
      expect(JSON.parse(write.body).method).toBe(method)
      // GET, the write, then the refill (in the write's background, after the invalidation).
      await originReaches(path, 3)
      // A reader during the refill joins it; after it, hits. Either way no further fetch.
      const after = await pollUntil('a hit on the refilled copy', async () => {
        const answer = await get(path)
        return /; hit; /.test(answer.cacheStatus) ? answer : undefined
      })
      const refilled = JSON.parse(after.body) as { method: string; id: string }
      expect(refilled.method).toBe('GET')
      expect(refilled.id).not.toBe(JSON.parse(first.body).id)
      expect(await fetchesOf([path])).toBe(3)
    }
  )

  it('a failed write (origin 409) refills nothing: readers keep the stored copy', async () => {
    // The GET is the path's first fetch (200, stored); the PUT its second (409).
    const path = url('failed', '&status2=409')
    const first = await get(path)
    expect(first.cacheStatus).toMatch(/fwd=miss; ttl=\d+; stored/)
    expect((await get(path, { method: 'PUT', body: 'x' })).status).toBe(409)
    // A successful write elsewhere, refilled: a refill of the failed one would have started first.
    const other = url('barrier')
    await get(other)
    expect((await get(other, { method: 'PUT', body: 'x' })).status).toBe(200)
    await originReaches(other, 3)
    expect(await fetchesOf([path])).toBe(2)
    const after = await get(path)
    expect(after.cacheStatus).toMatch(/; hit; /)
    expect(after.body).toBe(first.body)
    expect(await fetchesOf([path])).toBe(2)
  })
})
