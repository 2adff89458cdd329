/**
 * Purges through a network partition: a region cut off with its data kept (the regions API's
 * `partition`: its endpoint answers 503 while its redis-server keeps everything), unlike `stop`, which
 * empties it. Purges made meanwhile miss it; after it heals, nothing purged may be served anywhere:
 * not by the colos whose nearest region it is (their L1 and memory still hold the old copies), not
 * from its L2 (caught up by replay). IAD/EWR us-east, LHR/CDG/FRA eu-west, BOM/SIN ap-south.
 */
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { PurgeBody } from '../../tools/lib/purge-request'
import { getAt, purgeAt, settleRegions, until } from './simulated-client'

const workerUrl = inject('workerUrl')
const adminToken = inject('adminToken')
const controlUrl = inject('regionsControlUrl')

const COLOS = ['IAD', 'EWR', 'LHR', 'CDG', 'FRA', 'BOM', 'SIN'] as const
const HEALTHY = ['IAD', 'EWR', 'LHR', 'CDG', 'FRA'] as const
/** Colos with live traffic throughout: idle isolates do no work, so views poll only on requests. */
const ACTIVE = ['IAD', 'LHR', 'BOM'] as const
const CUT = 'ap-south'
/** purge.boundMs (the default): nothing purged may be served after it. */
const BOUND_MS = 1000
/** The scope replays a record into a region whose log was read this long after it (scope.ts). */
const REPLAY_GRACE_MS = 2000

const run = crypto.randomUUID().slice(0, 8)
const base = `/echo/partition-${run}`
const cacheable = (group: string, i: number, tag: string) =>
  `${base}-${group}/${i}?${new URLSearchParams({ 'h-cache-control': 'max-age=300', 'h-surrogate-key': tag })}`

const TAG = `partition-tag-${run}`
const BY_URL = cacheable('url', 1, `untagged-${run}`)
const BY_TAG = [cacheable('tag', 1, TAG), cacheable('tag', 2, TAG)]
const KEPT = cacheable('keep', 1, `kept-${run}`)
const PURGED = [BY_URL, ...BY_TAG]
const SHORT = cacheable('short', 1, `short-${run}`)
const QUIET = cacheable('quiet', 1, `quiet-${run}`)

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The `id` the echo origin gives each fetch: which copy a client was served. */
function copyId(body: string): string {
  return (JSON.parse(body) as { id: string }).id
}

async function control(path: string): Promise<{ partitioned: boolean; redisUrl: string }> {
  const response = await fetch(`${controlUrl}${path}`, { method: 'POST' })
  expect(response.status, path).toBe(200)
  return (await response.json()) as { partitioned: boolean; redisUrl: string }
}

async function purge(body: PurgeBody) {
  const response = await purgeAt(body)
  expect(response.status).toBe(200)
  return (await response.json()) as {
    id: string
    at: number
    regions: { recorded: string[]; missed: { region: string }[] }
  }
}

async function purgeStatus(id: string): Promise<Record<string, boolean | null>> {
  const response = await fetch(`${workerUrl}/_cache/purge/${id}`, {
    headers: { authorization: `Bearer ${adminToken}`, 'x-sim-colo': 'IAD' },
  })
  return ((await response.json()) as { regions: Record<string, boolean | null> }).regions
}

/**
 * The echo ids of the copies a region's L2 holds under `group` (read straight from its
 * redis-server: an entry's body is stored as is, so the id is in its bytes).
 */
async function l2Copies(redisUrl: string, group: string): Promise<string[]> {
  const redis = createClient({ url: redisUrl })
  await redis.connect()
  try {
    const keys: string[] = []
    for await (const page of redis.scanIterator({ MATCH: `ec:e:${base}-${group}/*`, COUNT: 1000 }))
      keys.push(...page)
    const values = keys.length > 0 ? await redis.mGet(keys) : []
    return values.flatMap((value) => {
      if (value === null) return []
      const text = Buffer.from(value, 'base64').toString('latin1')
      return [...text.matchAll(/"id":"([0-9a-f-]{36})"/g)].map((match) => match[1]!)
    })
  } finally {
    await redis.quit()
  }
}

/** Requests from `colos` every ~100 ms until stopped (errors ignored: traffic, not assertions). */
function liveTraffic(colos: readonly string[]): { stop(): Promise<void> } {
  let running = true
  const path = cacheable('live', 1, `live-${run}`)
  const loop = (async () => {
    while (running) {
      await Promise.all(colos.map((colo) => getAt(path, colo).catch(() => undefined)))
      await sleep(100)
    }
  })()
  return {
    stop: async () => {
      running = false
      await loop
    },
  }
}

let traffic: { stop(): Promise<void> } | undefined

beforeAll(async () => {
  await settleRegions()
}, 60_000)

afterAll(async () => {
  await traffic?.stop()
  // Leave a healthy geography to the next file.
  await settleRegions()
}, 60_000)

describe('purges through a partition (e2e)', () => {
  it('a region cut off with its data kept misses purges; after it heals nothing purged is served, and its L2 is caught up', async () => {
    const { redisUrl } = (await (await fetch(`${controlUrl}/regions/${CUT}`)).json()) as {
      redisUrl: string
    }
    // Every colo (so every region's L2 and every colo's L1 and memory) holds every path.
    const before = new Map<string, Set<string>>(PURGED.map((path) => [path, new Set()]))
    for (const path of [...PURGED, KEPT]) {
      await until(`${path} cached in every colo`, async () => {
        const answers = await Promise.all(COLOS.map((colo) => getAt(path, colo)))
        for (const answer of answers) before.get(path)?.add(copyId(answer.body))
        return answers.every((answer) => /; hit;/.test(answer.cacheStatus)) ? true : undefined
      })
    }
    await until(`${CUT}'s L2 to hold every path`, async () => {
      const held = await Promise.all(
        ['url', 'tag', 'keep'].map((group) => l2Copies(redisUrl, group))
      )
      return held[0]!.length === 1 && held[1]!.length === 2 && held[2]!.length === 1
        ? true
        : undefined
    })
    const isOld = (path: string, body: string) => before.get(path)!.has(copyId(body))
    traffic = liveTraffic(ACTIVE)

    // Cut off: its endpoint refuses every request, its redis-server keeps running with its data.
    expect(await control(`/regions/${CUT}/partition`)).toMatchObject({ partitioned: true })
    const byUrl = await purge({ urls: [BY_URL] })
    const byTag = await purge({ tags: [TAG] })
    for (const answer of [byUrl, byTag]) {
      expect(answer.regions.recorded.sort()).toEqual(['eu-west', 'us-east'])
      expect(answer.regions.missed.map((missed) => missed.region)).toEqual([CUT])
    }

    // During the partition: no colo that is served at all gets a purged copy, including those
    // whose nearest region is the one cut off (they fail over; their views merge the other logs).
    await sleep(BOUND_MS)
    for (const colo of [...HEALTHY, 'BOM']) {
      for (const path of PURGED) {
        const answer = await getAt(path, colo)
        expect(answer.status, `${colo} ${path}`).toBe(200)
        expect(isOld(path, answer.body), `${colo} ${path}: ${answer.cacheStatus}`).toBe(false)
      }
    }
    // The region missed the purges: its L2 still holds the purged copies (and everything else).
    expect(await l2Copies(redisUrl, 'url')).toHaveLength(1)
    expect(await l2Copies(redisUrl, 'tag')).toHaveLength(2)
    expect((await purgeStatus(byTag.id))[CUT]).not.toBe(true)
    // A partition of a few seconds: longer than the replay grace, so catch-up starts when it heals.
    const healAt = Math.max(byUrl.at, byTag.at) + REPLAY_GRACE_MS + 200
    if (Date.now() < healAt) await sleep(healAt - Date.now())

    expect(await control(`/regions/${CUT}/heal`)).toMatchObject({ partitioned: false })
    await sleep(BOUND_MS)
    // SIN first: idle since the fill, its L1 and memory hold the old copies and its view is stale.
    for (const colo of ['SIN', 'BOM', ...HEALTHY]) {
      for (const path of PURGED) {
        const answer = await getAt(path, colo)
        expect(answer.status, `${colo} ${path}`).toBe(200)
        expect(isOld(path, answer.body), `${colo} ${path}: ${answer.cacheStatus}`).toBe(false)
      }
    }
    // Caught up: the purges were replayed into the healed region (its L2 and its log).
    await until(`${CUT} to apply the purges it missed`, async () => {
      const [url, tag] = await Promise.all([byUrl.id, byTag.id].map(purgeStatus))
      return url![CUT] === true && tag![CUT] === true ? true : undefined
    })
    const left = [...(await l2Copies(redisUrl, 'url')), ...(await l2Copies(redisUrl, 'tag'))]
    const old = new Set([...before.values()].flatMap((ids) => [...ids]))
    expect(left.filter((id) => old.has(id))).toEqual([])
    // What was not purged survived the partition, in its L2 and for its colos.
    expect(await l2Copies(redisUrl, 'keep')).toHaveLength(1)
    expect((await getAt(KEPT, 'SIN')).cacheStatus).toMatch(/; hit;/)
    await traffic.stop()
    traffic = undefined
  }, 120_000)

  it('a colo that slept through a short partition of its nearest region does not trust that region alone afterwards', async () => {
    const { redisUrl } = (await (await fetch(`${controlUrl}/regions/${CUT}`)).json()) as {
      redisUrl: string
    }
    const old = new Set<string>()
    await until(`${SHORT} cached in every colo`, async () => {
      const answers = await Promise.all(COLOS.map((colo) => getAt(SHORT, colo)))
      for (const answer of answers) old.add(copyId(answer.body))
      return answers.every((answer) => /; hit;/.test(answer.cacheStatus)) ? true : undefined
    })
    traffic = liveTraffic(ACTIVE)
    // SIN sleeps (its view polls nothing), wakes once, then sleeps again through a partition of
    // ap-south short enough that it never sees a failed read there.
    await sleep(1500)
    const woke = Date.now()
    await getAt(KEPT, 'SIN')
    await sleep(200)
    expect(await control(`/regions/${CUT}/partition`)).toMatchObject({ partitioned: true })
    const purged = await purge({ urls: [SHORT] })
    expect(await control(`/regions/${CUT}/heal`)).toMatchObject({ partitioned: false })
    expect(purged.regions.missed.map((missed) => missed.region)).toEqual([CUT])
    // Its next request finds ap-south answering again, and its log lacking the purge: that log
    // alone must not make the view fresh (a view that only heard from it would trust its L1 for
    // another bound, past the purge's).
    const next = woke + 700 - Date.now()
    if (next > 0) await sleep(next)
    await getAt(KEPT, 'SIN')
    const after = purged.at + BOUND_MS + 300 - Date.now()
    if (after > 0) await sleep(after)
    const answer = await getAt(SHORT, 'SIN')
    expect(answer.status).toBe(200)
    expect(old.has(copyId(answer.body)), answer.cacheStatus).toBe(false)
    // And the region is caught up.
    await until(`${CUT} to apply the purge it missed`, async () =>
      (await purgeStatus(purged.id))[CUT] === true ? true : undefined
    )
    const left = await l2Copies(redisUrl, 'short')
    expect(left.filter((id) => old.has(id))).toEqual([])
    await traffic.stop()
    traffic = undefined
  }, 120_000)

  it('after a partition that healed while nothing ran, the first request of a colo homed there gets no purged copy', async () => {
    const old = new Set<string>()
    await until(`${QUIET} cached in every colo`, async () => {
      const answers = await Promise.all(COLOS.map((colo) => getAt(QUIET, colo)))
      for (const answer of answers) old.add(copyId(answer.body))
      return answers.every((answer) => /; hit;/.test(answer.cacheStatus)) ? true : undefined
    })
    expect(await control(`/regions/${CUT}/partition`)).toMatchObject({ partitioned: true })
    const purged = await purge({ urls: [QUIET] })
    expect(purged.regions.missed.map((missed) => missed.region)).toEqual([CUT])
    expect(await control(`/regions/${CUT}/heal`)).toMatchObject({ partitioned: false })
    // Nothing runs: no colo polls, no replay reaches ap-south, whose L2 still holds the old copy.
    await sleep(BOUND_MS + 1000)
    // The first requests after the quiet spell, from the colos homed on the region that missed it.
    for (const colo of ['SIN', 'BOM']) {
      const answer = await getAt(QUIET, colo)
      expect(answer.status).toBe(200)
      expect(old.has(copyId(answer.body)), `${colo}: ${answer.cacheStatus}`).toBe(false)
    }
  }, 120_000)

  it('the regions API refuses to partition or heal an unknown region (404, nothing changed)', async () => {
    const snapshot = async () =>
      (
        (await (await fetch(`${controlUrl}/regions`)).json()) as {
          regions: { name: string; partitioned: boolean; fault: unknown }[]
        }
      ).regions.map(({ name, partitioned, fault }) => ({ name, partitioned, fault }))
    const before = await snapshot()
    for (const path of ['/regions/mars/partition', '/regions/mars/heal']) {
      const response = await fetch(`${controlUrl}${path}`, { method: 'POST' })
      expect(response.status, path).toBe(404)
      expect(await response.json()).toEqual({ error: expect.stringMatching(/unknown region mars/) })
    }
    expect(await snapshot()).toEqual(before)
  })
})
