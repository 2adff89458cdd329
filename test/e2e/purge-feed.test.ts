/**
 * The purge feed on the real stack: each region's PurgeFeed object subscribes to the region's purge
 * channel (server-sent events through the project's Upstash-compatible endpoint) and is the one that
 * reads the region's log, so the XRANGE commands purges cost follow regions, not colos or isolates.
 */
import { describe, expect, inject, it } from 'vitest'
import { connectRegionsForFile, getAt, purgeAt, settleRegions, until } from './simulated-client'

const controlUrl = inject('regionsControlUrl')
const run = crypto.randomUUID().slice(0, 8)
/** Two colos per region. */
const COLOS = ['IAD', 'EWR', 'LHR', 'CDG', 'BOM', 'SIN'] as const
const CHANNEL = 'ec:purges'
const POLL_INTERVAL_MS = 100

const regions = connectRegionsForFile()

/** XRANGE calls a region's redis-server has run (INFO commandstats). */
async function xranges(redis: (typeof regions)[number]['redis']): Promise<number> {
  const info = await redis.info('commandstats')
  return Number(/cmdstat_xrange:calls=(\d+)/.exec(info)?.[1] ?? 0)
}

describe('purge feed (one subscriber and one log reader per region)', () => {
  it('colos learn purges from their region feeds: a purge at one colo reaches the others', async () => {
    const tag = `feed-${run}`
    const path = `/echo/${tag}?h-cache-control=max-age%3D300&h-surrogate-key=${tag}`
    const before = new Map<string, string>()
    for (const colo of COLOS) {
      await getAt(path, colo)
      const held = await getAt(path, colo)
      expect(held.cacheStatus).toContain('hit')
      before.set(colo, held.body)
    }
    const response = await purgeAt({ tags: [tag] })
    expect(response.status).toBe(200)
    // Each colo stops serving its copy: it gets the origin's new answer (a miss, or the L2 copy
    // that a colo of its region filled after the purge).
    for (const colo of COLOS) {
      await until(`the purge at ${colo}`, async () =>
        (await getAt(path, colo)).body !== before.get(colo) ? true : undefined
      )
    }
    // Each region's feed holds a subscription to its purge channel (one that an earlier partition
    // closed is renewed once the log shows a purge the channel did not deliver, within seconds,
    // while colos read the feed).
    for (const { name, redis } of regions) {
      await until(`a subscriber in ${name}`, async () => {
        await Promise.all(COLOS.map((colo) => getAt(path, colo)))
        const subscribers = await redis.pubSubNumSub(CHANNEL)
        return (subscribers[CHANNEL] ?? 0) >= 1 ? true : undefined
      })
    }
  })

  it('hits from six colos: each region log is read at most once per poll interval', async () => {
    const path = `/echo/feed-load-${run}?h-cache-control=max-age%3D300`
    // Every colo's view has a cursor in every region (its first read is a direct one).
    for (const colo of COLOS) await getAt(path, colo)
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const before = await Promise.all(regions.map(({ redis }) => xranges(redis)))
    const started = Date.now()
    while (Date.now() - started < 3000) {
      await Promise.all(COLOS.map((colo) => getAt(path, colo)))
    }
    const elapsed = Date.now() - started
    const after = await Promise.all(regions.map(({ redis }) => xranges(redis)))
    // Without the feed each colo reads its nearest log every poll interval and the far ones every
    // tenth: 2 + 4/10 reads per interval per region here. With it, the region's feed object reads
    // it at most once per interval, whatever the number of colos (+2: the intervals at the edges).
    const bound = Math.ceil(elapsed / POLL_INTERVAL_MS) + 2
    regions.forEach(({ name }, i) => {
      expect(after[i]! - before[i]!, `${name}: XRANGE calls in ${elapsed} ms`).toBeLessThanOrEqual(
        bound
      )
    })
  })

  it('a subscription a partition closed is renewed: purges still arrive through the channel', async () => {
    const region = regions.find(({ name }) => name === 'ap-south')!
    const cut = await fetch(`${controlUrl}/regions/ap-south/partition`, { method: 'POST' })
    expect(cut.status).toBe(200)
    // The partition ends the region's open streams.
    await until('the ap-south stream closed', async () =>
      ((await region.redis.pubSubNumSub(CHANNEL))[CHANNEL] ?? 0) === 0 ? true : undefined
    )
    const healed = await fetch(`${controlUrl}/regions/ap-south/heal`, { method: 'POST' })
    expect(healed.status).toBe(200)
    await settleRegions()
    const tag = `feed-renew-${run}`
    const path = `/echo/${tag}?h-cache-control=max-age%3D300&h-surrogate-key=${tag}`
    await getAt(path, 'BOM')
    const before = (await getAt(path, 'BOM')).body
    const response = await purgeAt({ tags: [tag] }, 'BOM')
    expect(response.status).toBe(200)
    // The log showed a purge the closed channel never delivered: the feed subscribes again.
    await until('a renewed subscriber in ap-south', async () => {
      await getAt(path, 'SIN')
      const subscribers = await region.redis.pubSubNumSub(CHANNEL)
      return (subscribers[CHANNEL] ?? 0) >= 1 ? true : undefined
    })
    expect((await getAt(path, 'BOM')).body).not.toBe(before)
  })
})
