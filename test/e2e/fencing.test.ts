/**
 * Write fencing and one L2 write per fill, on the real stack (three simulated regions, wrangler dev):
 * a fill whose origin fetch began before a purge never lands in any region's L2, whatever the purge
 * named (the URL, a tag, a prefix); a cold key hit by many requests at once is written to L2 once.
 */
import { describe, expect, inject, it } from 'vitest'
import type { PurgeBody } from '../../tools/lib/purge-request'
import { connectRegionsForFile, getAt, purgeAt, until } from './simulated-client'

const workerUrl = inject('workerUrl')
const originUrl = inject('originUrl')
const run = crypto.randomUUID().slice(0, 8)
const COLOS = ['IAD', 'LHR', 'SIN'] as const
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const regions = connectRegionsForFile()

async function purge(body: PurgeBody): Promise<void> {
  const response = await purgeAt(body)
  expect(response.status, await response.text()).toBe(200)
}

/** Entry keys in every region whose name contains `fragment`. */
async function storedKeys(fragment: string): Promise<string[]> {
  return (await stored(fragment)).map(({ region, key }) => `${region} ${key}`)
}

/** Entries in every region whose key contains `fragment`, with their decoded bytes. */
async function stored(fragment: string): Promise<{ region: string; key: string; bytes: string }[]> {
  const found: { region: string; key: string; bytes: string }[] = []
  for (const { name, redis } of regions) {
    for await (const keys of redis.scanIterator({ MATCH: `*e:*${fragment}*`, COUNT: 1000 })) {
      for (const key of [keys].flat()) {
        const value = await redis.get(key)
        const bytes = value === null ? '' : Buffer.from(value, 'base64').toString('latin1')
        found.push({ region: name, key, bytes })
      }
    }
  }
  return found
}

/** How many requests the demo origin has received for `pathname` (counted as they arrive). */
async function originReceived(pathname: string): Promise<number> {
  const stats = (await (await fetch(`${originUrl}/__origin/stats`)).json()) as {
    byPath: Record<string, number>
  }
  return stats.byPath[pathname] ?? 0
}

/** The echo origin numbers each fetch of a path: the racing fill's answer is the first. */
const FIRST_FETCH = '"n":1,'

function idOf(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { id?: string }).id
  } catch {
    return undefined
  }
}

describe('write fencing', () => {
  it.each(['url', 'tag', 'prefix'] as const)(
    'a fill racing a purge by %s never lands in any region',
    async (kind) => {
      const dir = `/echo/fence-${run}-${kind}/`
      const tag = `fence-${run}-${kind}`
      const query = new URLSearchParams({
        'h-cache-control': 'max-age=600',
        'h-surrogate-key': tag,
        delay: '1500',
      })
      const path = `${dir}race?${query}`
      // The fill starts, its origin answers 1.5 s later; the purge lands in between: sent once the
      // origin has the fill's request (however long a busy machine takes to get it there), with the
      // rest of those 1.5 s for the purge to be recorded.
      const racing = getAt(path, 'LHR')
      await until('the racing fill at the origin', async () =>
        (await originReceived(`${dir}race`)) > 0 ? true : undefined
      )
      await purge(
        kind === 'url'
          ? { urls: [`${workerUrl}${path}`] }
          : kind === 'tag'
            ? { tags: [tag] }
            : { prefixes: [dir] }
      )
      // Watch every region's L2 until well after the racing request is answered: the first fetch's
      // answer must never appear, not even for a moment (a purged copy is refused on arrival, so
      // the racing request may fetch again and overwrite it; a watcher sees the moment between).
      let done = false
      const seen: string[] = []
      const watching = (async () => {
        while (!done) {
          for (const entry of await stored(`fence-${run}-${kind}/`)) {
            if (entry.bytes.includes(FIRST_FETCH)) seen.push(`${entry.region} ${entry.key}`)
          }
          await sleep(25)
        }
      })()
      expect((await racing).status).toBe(200)
      await sleep(1500)
      done = true
      await watching
      expect(seen).toEqual([])
      for (const colo of COLOS) {
        const after = await getAt(path, colo)
        expect(after.body.includes(FIRST_FETCH), `${colo}: ${after.cacheStatus}`).toBe(false)
      }
    }
  )
})

describe('one L2 write per fill', () => {
  it('20 concurrent cold requests from one colo cause exactly one L2 write', async () => {
    const path = `/echo/one-write-${run}?h-cache-control=max-age%3D600&delay=300`
    const evals = async () => {
      let calls = 0
      for (const { redis } of regions) {
        const info = await redis.info('commandstats')
        for (const match of info.matchAll(/cmdstat_eval(?:sha)?:calls=(\d+)/g)) calls += +match[1]!
      }
      return calls
    }
    const before = await evals()
    const answers = await Promise.all(Array.from({ length: 20 }, () => getAt(path, 'LHR')))
    expect(answers.every((answer) => answer.status === 200)).toBe(true)
    expect(new Set(answers.map((answer) => idOf(answer.body))).size).toBe(1)
    await until('the leader wrote L2', async () =>
      (await storedKeys(`one-write-${run}`)).length > 0 ? true : undefined
    )
    await sleep(1000)
    // The fenced write is the only script a fill runs (reads are GETs; no purge ran meanwhile).
    expect((await evals()) - before).toBe(1)
  })
})
