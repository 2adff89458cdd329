/**
 * A tag with 100,000 members, purged through the Worker on the real stack: the purge API answers once
 * the purge is recorded (its first batch done), the rest goes in bounded batches after the answer,
 * hits keep flowing meanwhile, and the region's applied marker says when the last batch is done.
 */
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { getAt, purgeAt, settleRegions, until } from './simulated-client'

const workerUrl = inject('workerUrl')
const adminToken = inject('adminToken')
const controlUrl = inject('regionsControlUrl')
const run = crypto.randomUUID().slice(0, 8)
const MEMBERS = 100_000
const P = 'ec:'

const connect = (url: string) => createClient({ url }).connect()
let redis: Awaited<ReturnType<typeof connect>>

beforeAll(async () => {
  await settleRegions()
  const listed = (await (await fetch(`${controlUrl}/regions`)).json()) as {
    regions: Array<{ name: string; redisUrl: string }>
  }
  redis = await connect(listed.regions.find((region) => region.name === 'us-east')!.redisUrl)
})

afterAll(async () => {
  await redis?.quit()
})

describe('a tag with 100,000 members', () => {
  it('purges in bounded batches after the answer while hits keep flowing', async () => {
    const tag = `big-${run}`
    const index = `${P}tz:${tag}`
    const expiry = Date.now() + 600_000
    // Seeded straight into us-east's Redis: 100,000 entries indexed under the tag.
    for (let start = 0; start < MEMBERS; start += 10_000) {
      const multi = redis.multi()
      for (let i = start; i < start + 10_000; i++) {
        const key = `${P}e:/echo/${tag}/${i}`
        multi.set(key, 'v', { PX: 600_000 })
        multi.zAdd(index, { score: expiry, value: key })
      }
      await multi.exec()
    }
    expect(await redis.zCard(index)).toBe(MEMBERS)
    const hot = `/echo/big-hot-${run}?h-cache-control=max-age%3D300`
    await getAt(hot, 'IAD')
    expect((await getAt(hot, 'IAD')).cacheStatus).toContain('hit')

    let stop = false
    const statuses: number[] = []
    const hits = (async () => {
      while (!stop) statuses.push((await getAt(hot, 'IAD')).status)
    })()
    const response = await purgeAt({ tags: [tag] }, 'IAD')
    expect(response.status).toBe(200)
    const report = (await response.json()) as { id: string; status: string }
    // The answer came after the first batch, not after all of them.
    expect(await redis.zCard(index)).toBeGreaterThan(0)
    await until(
      'the last batch in us-east',
      async () => {
        const status = await fetch(`${workerUrl}${report.status}`, {
          headers: { authorization: `Bearer ${adminToken}` },
        })
        const body = (await status.json()) as { regions: Record<string, boolean> }
        return body.regions['us-east'] === true ? true : undefined
      },
      60_000
    )
    stop = true
    await hits
    expect(await redis.zCard(index)).toBe(0)
    expect(await redis.exists(`${P}e:/echo/${tag}/0`)).toBe(0)
    expect(await redis.exists(`${P}e:/echo/${tag}/${MEMBERS - 1}`)).toBe(0)
    // Hits flowed the whole time, all answered.
    expect(statuses.length).toBeGreaterThan(0)
    expect(statuses.every((status) => status === 200)).toBe(true)
  }, 120_000)
})
