/**
 * Purges on the real stack: three simulated regions (latency scale 0.1), the Worker under wrangler
 * dev, simulated colos with their own L1, memory tier and purge view (x-sim-colo). IAD/EWR us-east,
 * LHR/CDG/FRA eu-west, BOM/SIN ap-south.
 */
import { afterAll, beforeEach, describe, expect, inject, it } from 'vitest'
import { getAt, originFetches, settleRegions, until } from './simulated-client'

const workerUrl = inject('workerUrl')
const originUrl = inject('originUrl')
const adminToken = inject('adminToken')
const controlUrl = inject('regionsControlUrl')

const COLOS = ['IAD', 'EWR', 'LHR', 'CDG', 'BOM', 'SIN'] as const
/** The default bound (purge.boundMs) plus a poll: nothing purged may be served after it. */
const BOUND_MS = 1000

const run = crypto.randomUUID().slice(0, 8)
let n = 0

/** A fresh cacheable URL carrying `tag` (Surrogate-Key), under `/echo/purge-<run>-<group>/`. */
function freshPath(group: string, tag: string): string {
  const query = new URLSearchParams({
    'h-cache-control': 'max-age=300, stale-if-error=300',
    'h-surrogate-key': tag,
  })
  return `/echo/purge-${run}-${group}/${++n}?${query}`
}

const get = getAt

async function post(url: string, body?: unknown, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  })
}

async function control(path: string): Promise<void> {
  const response = await post(`${controlUrl}${path}`)
  expect(response.status, path).toBe(200)
  await response.arrayBuffer()
}

async function purge(body: unknown, token: string | null = adminToken) {
  const response = await post(
    `${workerUrl}/_cache/purge`,
    body,
    token === null ? {} : { authorization: `Bearer ${token}`, 'x-sim-colo': 'LHR' }
  )
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Fills `path` in every colo (so every region's L2 and every colo's L1 hold it) and checks it. */
async function fillEverywhere(path: string): Promise<void> {
  for (const colo of COLOS) await get(path, colo)
  await until(`${path} cached in every colo`, async () => {
    const answers = await Promise.all(COLOS.map((colo) => get(path, colo)))
    return answers.every((answer) => /; hit;/.test(answer.cacheStatus)) ? true : undefined
  })
}

async function origin(path: string, body?: unknown) {
  const response = await post(`${originUrl}/__origin/${path}`, body)
  await response.arrayBuffer()
}

beforeEach(async () => {
  await control('/regions/reset')
  await origin('fail', { mode: 'off' })
})

afterAll(async () => {
  await control('/regions/reset')
  await origin('fail', { mode: 'off' })
  // Leave a healthy geography to the next file.
  await settleRegions()
}, 30_000)

describe('purges (e2e)', () => {
  it('a tag purge removes every tagged entry in all regions and every colo; the next request goes to the origin once', async () => {
    const tag = `tag-${run}`
    const paths = [freshPath('tag', tag), freshPath('tag', tag)]
    const other = freshPath('tag', `other-${run}`)
    for (const path of [...paths, other]) await fillEverywhere(path)

    const answer = await purge({ tags: [tag] })
    expect(answer.status).toBe(200)
    expect(answer.body).toMatchObject({ boundMs: BOUND_MS, soft: false })
    expect((answer.body.regions as { recorded: string[] }).recorded.sort()).toEqual([
      'ap-south',
      'eu-west',
      'us-east',
    ])
    await sleep(BOUND_MS)

    for (const path of paths) {
      const before = await originFetches()
      const first = await get(path, 'IAD')
      expect(first.cacheStatus).toMatch(/fwd=miss/)
      expect(await originFetches()).toBe(before + 1)
      // Every other colo: nothing from before the purge (the refill of another region, or a miss).
      for (const colo of COLOS.slice(1)) {
        const answer = await get(path, colo)
        expect(answer.cacheStatus, colo).not.toMatch(/detail=(memory|L1)$/)
      }
    }
    // Entries without the tag are untouched.
    expect((await get(other, 'CDG')).cacheStatus).toMatch(/; hit;/)
    const status = await until('the purge applied in every region', async () => {
      const response = await fetch(`${workerUrl}/_cache/purge/${answer.body.id as string}`, {
        headers: { authorization: `Bearer ${adminToken}`, 'x-sim-colo': 'LHR' },
      })
      const body = (await response.json()) as { applied: boolean }
      return body.applied ? body : undefined
    })
    expect(status).toMatchObject({
      regions: { 'us-east': true, 'eu-west': true, 'ap-south': true },
    })
  })

  it('a prefix purge removes every entry under the prefix everywhere', async () => {
    const paths = [freshPath('prefix', 'p'), freshPath('prefix', 'p')]
    const outside = freshPath('keep', 'p')
    for (const path of [...paths, outside]) await fillEverywhere(path)
    const answer = await purge({ prefixes: [`/echo/purge-${run}-prefix/`] })
    expect(answer.status).toBe(200)
    await sleep(BOUND_MS)
    for (const path of paths) {
      for (const colo of COLOS) {
        const before = await originFetches()
        const response = await get(path, colo)
        // Each region refills once from the origin; no colo serves a pre-purge copy.
        if (/fwd=miss/.test(response.cacheStatus)) expect(await originFetches()).toBe(before + 1)
        else expect(response.cacheStatus).toMatch(/detail=(memory|L1|L2\/[a-z-]+)/)
      }
    }
    const firstAfter = await get(paths[0]!, 'LHR')
    expect(firstAfter.cacheStatus).toMatch(/; hit;/)
    expect((await get(outside, 'SIN')).cacheStatus).toMatch(/; hit;/)
  })

  it('a region stopped during a purge, then restarted, does not serve the purged entry', async () => {
    const tag = `down-${run}`
    const path = freshPath('down', tag)
    await fillEverywhere(path)
    await control('/regions/ap-south/stop')
    const answer = await purge({ tags: [tag] })
    expect(answer.status).toBe(200)
    const regions = answer.body.regions as { recorded: string[]; missed: { region: string }[] }
    expect(regions.missed.map((missed) => missed.region)).toEqual(['ap-south'])
    await control('/regions/ap-south/start')
    await sleep(BOUND_MS)
    for (const colo of ['BOM', 'SIN']) {
      const response = await get(path, colo)
      expect(response.cacheStatus, colo).not.toMatch(/; hit; .*detail=(memory|L1)$/)
    }
    // The restarted region catches up: isolates replay into it what its log lacks.
    const caughtUp = await until('ap-south to apply the purge it missed', async () => {
      const response = await fetch(`${workerUrl}/_cache/purge/${answer.body.id as string}`, {
        headers: { authorization: `Bearer ${adminToken}`, 'x-sim-colo': 'SIN' },
      })
      const body = (await response.json()) as { regions: Record<string, boolean | null> }
      return body.regions['ap-south'] === true ? body : undefined
    })
    expect(caughtUp.regions).toEqual({ 'us-east': true, 'eu-west': true, 'ap-south': true })
  })

  it('a soft purge leaves a copy for stale-if-error', async () => {
    const tag = `soft-${run}`
    const path = freshPath('soft', tag)
    await fillEverywhere(path)
    const filled = await get(path, 'CDG')
    const answer = await purge({ tags: [tag], soft: true })
    expect(answer.status).toBe(200)
    await sleep(BOUND_MS)
    await origin('fail', { mode: 'error' })
    const stale = await get(path, 'CDG')
    expect(stale.status).toBe(200)
    expect(stale.cacheStatus).toMatch(/fwd=stale; .*detail=stale-if-error/)
    expect(stale.body).toBe(filled.body)
    await origin('fail', { mode: 'off' })
    const refetched = await get(path, 'IAD')
    expect(refetched.cacheStatus).toMatch(/fwd=stale/)
  })

  it('a PUT through the cache invalidates the URL in every region and colo', async () => {
    const path = '/products/7'
    await fillEverywhere(path)
    const put = await fetch(`${workerUrl}${path}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'x-sim-colo': 'LHR' },
      body: JSON.stringify({ name: `Renamed ${run}` }),
    })
    expect(put.status).toBe(200)
    await put.arrayBuffer()
    // The writer's colo reads its write at once.
    expect((await get(path, 'LHR')).body).toContain(`Renamed ${run}`)
    await sleep(BOUND_MS)
    for (const colo of COLOS) expect((await get(path, colo)).body, colo).toContain(`Renamed ${run}`)
  })

  it.each([
    ['unknown field', { tags: ['x'], everything: true }],
    ['10 000 tags', { tags: Array.from({ length: 10_000 }, (_, i) => String(i % 10)) }],
    ['wrong type', { tags: 'x' }],
    ['soft not a boolean', { tags: ['x'], soft: 'yes' }],
    ['nothing named', {}],
  ])('rejects %s with 400 and purges nothing', async (_name, body) => {
    const path = freshPath('bad', 'x')
    await fillEverywhere(path)
    const answer = await purge(body)
    expect(answer.status).toBe(400)
    await sleep(200)
    for (const colo of COLOS) expect((await get(path, colo)).cacheStatus).toMatch(/; hit;/)
  })

  it('refuses a purge without the token with 401', async () => {
    const path = freshPath('auth', 'x')
    await fillEverywhere(path)
    const answer = await purge({ tags: ['x'] }, null)
    expect(answer.status).toBe(401)
    expect((await get(path, 'LHR')).cacheStatus).toMatch(/; hit;/)
  })
})
