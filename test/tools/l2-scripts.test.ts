/**
 * The L2 Lua scripts against a real redis-server: fenced writes (a purge newer than a fill's fetch
 * refuses its write), bounded tag indexes, and hard purges in bounded batches.
 */
import fc from 'fast-check'
import { createClient } from 'redis'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { FENCED_WRITE } from '../../src/l2/fence'
import { CONTINUE_PURGE, PURGE_BATCH, RECORD_PURGE } from '../../src/purge/log'
import { MAX_PURGE_LOG_BYTES } from '../../src/purge/view'
import { startRedisServer } from '../../tools/lib/redis-server'

type Server = Awaited<ReturnType<typeof startRedisServer>>
let server: Server
let redis: ReturnType<typeof createClient>
const P = 'ec:'

beforeAll(async () => {
  server = await startRedisServer()
  redis = createClient({ url: server.url })
  await redis.connect()
})

afterAll(async () => {
  await redis?.quit()
  await server?.stop()
})

beforeEach(async () => {
  await redis.flushAll()
})

/** A fill's fenced write; returns 1 (written) or 0 (refused). */
function write(
  key: string,
  began: number,
  tags: string[] = [],
  options: { now?: number; ttlMs?: number; cap?: number } = {}
): Promise<number> {
  const now = options.now ?? Date.now()
  const ttl = options.ttlMs ?? 60_000
  return redis.eval(FENCED_WRITE, {
    keys: [`${P}e:${key}`],
    arguments: [
      'value',
      String(ttl),
      String(began),
      P,
      key,
      String(now),
      String(options.cap ?? 1000),
      String(now + ttl),
      ...tags,
    ],
  }) as Promise<number>
}

interface Purge {
  id: string
  at: number
  keys: string[]
  tags: string[]
  prefixes: string[]
  soft: boolean
}

let ids = 0
function purge(at: number, what: Partial<Omit<Purge, 'id' | 'at'>>): Purge {
  return { id: `p${++ids}`, at, keys: [], tags: [], prefixes: [], soft: false, ...what }
}

/** RECORD_PURGE in this one region: [stream id, deleted, more, ...cursors]. */
function record(
  rec: Purge,
  replay = false,
  bounds: { entries?: number; bytes?: number } = {}
): Promise<[string | null, number, string, ...string[]]> {
  return redis.eval(RECORD_PURGE, {
    keys: [`${P}purges`, `${P}pa:${rec.id}`],
    arguments: [
      JSON.stringify(rec),
      String(bounds.entries ?? 1000),
      P,
      '3600',
      rec.soft ? '0' : '1',
      replay ? '1' : '0',
      String(bounds.bytes ?? MAX_PURGE_LOG_BYTES),
    ],
  }) as Promise<[string | null, number, string, ...string[]]>
}

/** The records in the log, oldest first. */
async function logged(): Promise<Purge[]> {
  const entries = (await redis.xRange(`${P}purges`, '-', '+')) ?? []
  return entries.map((entry) => JSON.parse(entry.message.p!) as Purge)
}

/** Runs a hard purge to the end, as PurgeLog does; returns the batches it took. */
async function purgeAll(rec: Purge, between?: () => Promise<void>): Promise<number> {
  const [id, , more, ...first] = await record(rec)
  let batches = 1
  let pending = more === '1'
  let cursors = first
  while (pending) {
    await between?.()
    const [, next, ...after] = (await redis.eval(CONTINUE_PURGE, {
      keys: [`${P}pa:${rec.id}`],
      arguments: [JSON.stringify(rec), P, '3600', id!, ...cursors],
    })) as [number, string, ...string[]]
    batches++
    pending = next === '1'
    cursors = after
  }
  return batches
}

describe('fenced writes', () => {
  it('writes the entry and indexes it under its tags, by expiry', async () => {
    const now = Date.now()
    expect(await write('/a', now - 10, ['t1', 't2'], { now, ttlMs: 5000 })).toBe(1)
    expect(await redis.get(`${P}e:/a`)).toBe('value')
    expect(Number(await redis.zScore(`${P}tz:t1`, `${P}e:/a`))).toBe(now + 5000)
    expect(await redis.pTTL(`${P}tz:t2`)).toBeGreaterThan(0)
  })

  it('a purge of the key made after the fetch began refuses the write and deletes the key', async () => {
    const began = Date.now() - 1000
    await redis.set(`${P}e:/a`, 'older copy')
    await record(purge(began + 500, { keys: ['/a'] }))
    await redis.set(`${P}e:/a`, 'written after the purge by an older fill')
    expect(await write('/a', began)).toBe(0)
    expect(await redis.exists(`${P}e:/a`)).toBe(0)
  })

  it('a purge older than the fetch lets it write', async () => {
    const at = Date.now() - 1000
    await record(purge(at, { keys: ['/a'] }))
    expect(await write('/a', at + 1)).toBe(1)
  })

  it("a purge of the URL fences its variants; a tag's and a prefix's fence their entries only", async () => {
    const began = Date.now() - 1000
    await record(purge(began + 1, { keys: ['/v'], tags: ['shoes'], prefixes: ['/shop/'] }))
    expect(await write('/v\naccept-language:de', began)).toBe(0)
    expect(await write('/other', began, ['shoes'])).toBe(0)
    expect(await write('/shop/1', began)).toBe(0)
    expect(await write('/shopping', began)).toBe(1)
    expect(await write('/other', began, ['boots'])).toBe(1)
  })

  it('stores exactly when no matching purge is at or after the fetch (any interleaving)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.constantFrom('key', 'tag', 'prefix'),
        async (began, at, kind) => {
          await redis.flushAll()
          const base = Date.now() - 10_000
          const what =
            kind === 'key'
              ? { keys: ['/k'] }
              : kind === 'tag'
                ? { tags: ['t'] }
                : { prefixes: ['/'] }
          await record(purge(base + at, what))
          const written = await write('/k', base + began, ['t'])
          expect(written).toBe(began > at ? 1 : 0)
        }
      ),
      { numRuns: 60 }
    )
  })
})

describe('bounded tag indexes', () => {
  it('caps a tag at its most members: the soonest-expiring go, with their entries', async () => {
    const now = Date.now()
    for (let i = 0; i < 5; i++) {
      await write(`/e${i}`, now, ['t'], { now, ttlMs: 10_000 + i * 1000, cap: 3 })
    }
    expect(await redis.zCard(`${P}tz:t`)).toBe(3)
    expect(await redis.exists([`${P}e:/e0`, `${P}e:/e1`])).toBe(0)
    expect(await redis.exists([`${P}e:/e2`, `${P}e:/e3`, `${P}e:/e4`])).toBe(3)
  })

  it('trims expired members on every write', async () => {
    const now = Date.now()
    await write('/old', now - 60_000, ['t'], { now: now - 60_000, ttlMs: 1000 })
    await write('/new', now, ['t'], { now })
    expect(await redis.zRange(`${P}tz:t`, 0, -1)).toEqual([`${P}e:/new`])
  })
})

describe('hard purges in bounded batches', () => {
  it('a tag with 100,000 members is purged PURGE_BATCH at a time; other keys answer between batches', async () => {
    const members = 100_000
    const expiry = Date.now() + 600_000
    for (let start = 0; start < members; start += 10_000) {
      const multi = redis.multi()
      for (let i = start; i < start + 10_000; i++) {
        multi.set(`${P}e:/big/${i}`, 'v')
        multi.zAdd(`${P}tz:big`, { score: expiry, value: `${P}e:/big/${i}` })
      }
      await multi.exec()
    }
    await redis.set(`${P}e:/canary`, 'still here')
    let canaryReads = 0
    const rec = purge(Date.now(), { tags: ['big'] })
    const batches = await purgeAll(rec, async () => {
      expect(await redis.get(`${P}e:/canary`)).toBe('still here')
      canaryReads++
    })
    expect(batches).toBe(Math.ceil(members / PURGE_BATCH))
    expect(canaryReads).toBe(batches - 1)
    expect(await redis.dbSize()).toBeLessThan(10)
    expect(await redis.exists(`${P}tz:big`)).toBe(0)
    expect(await redis.get(`${P}pa:${rec.id}`)).not.toBeNull()
  })

  it('the applied marker waits for the last batch', async () => {
    for (let i = 0; i < PURGE_BATCH + 10; i++) {
      await redis.set(`${P}e:/t/${i}`, 'v')
      await redis.zAdd(`${P}tz:t`, { score: Date.now() + 60_000, value: `${P}e:/t/${i}` })
    }
    const rec = purge(Date.now(), { tags: ['t'] })
    const [, deleted, more] = await record(rec)
    expect(deleted).toBe(PURGE_BATCH)
    expect(more).toBe('1')
    expect(await redis.exists(`${P}pa:${rec.id}`)).toBe(0)
  })

  it('a prefix purge walks the key space with a cursor, to the end, never touching other keys', async () => {
    for (let i = 0; i < 1200; i++) await redis.set(`${P}e:/p/${i}`, 'v')
    for (let i = 0; i < 50; i++) await redis.set(`${P}e:/q/${i}`, 'v')
    await purgeAll(purge(Date.now(), { prefixes: ['/p/'] }))
    expect((await redis.keys(`${P}e:/p/*`)).length).toBe(0)
    expect((await redis.keys(`${P}e:/q/*`)).length).toBe(50)
  })

  it('a catch-up replay of a purge the region has applied does nothing', async () => {
    const rec = purge(Date.now(), { keys: ['/a'] })
    await record(rec)
    await redis.set(`${P}e:/a`, 'refilled later')
    const [id] = await record(rec, true)
    expect(id).toBeNull()
    expect(await redis.get(`${P}e:/a`)).toBe('refilled later')
    expect(await redis.xLen(`${P}purges`)).toBe(1)
  })
})

describe('the purge log: merged and bounded', () => {
  it('repeated hard purges of one key leave one record, the latest', async () => {
    const now = Date.now()
    for (let i = 0; i < 50; i++) await record(purge(now + i, { keys: ['/write-heavy'] }))
    await record(purge(now + 60, { keys: ['/other'] }))
    const records = await logged()
    expect(records.map((r) => r.keys)).toEqual([['/write-heavy'], ['/other']])
    expect(records[0]!.at).toBe(now + 49)
  })

  it('tags, prefixes, several keys and soft purges are never merged', async () => {
    const now = Date.now()
    await record(purge(now, { keys: ['/k'] }))
    await record(purge(now + 1, { keys: ['/k'], soft: true }))
    await record(purge(now + 2, { keys: ['/k', '/j'] }))
    await record(purge(now + 3, { keys: ['/k'], tags: ['t'] }))
    await record(purge(now + 4, { prefixes: ['/k'] }))
    expect((await logged()).length).toBe(5)
    // The next single-key hard purge of /k replaces only the first record.
    await record(purge(now + 5, { keys: ['/k'] }))
    expect((await logged()).map((r) => r.at)).toEqual([now + 1, now + 2, now + 3, now + 4, now + 5])
  })

  it('keeps the log within its record and byte bounds, oldest first, the counter exact', async () => {
    const now = Date.now()
    for (let i = 0; i < 30; i++)
      await record(purge(now + i, { tags: [`t${i}`] }), false, { entries: 10 })
    expect(await redis.xLen(`${P}purges`)).toBe(10)
    expect((await logged())[0]!.tags).toEqual(['t20'])
    await redis.flushAll()
    const bytes = 64 * 1024
    const big = 'x'.repeat(10 * 1024)
    for (let i = 0; i < 40; i++) {
      await record(purge(now + i, { tags: [`big${i}`, big] }), false, { bytes })
    }
    const records = (await redis.xRange(`${P}purges`, '-', '+')) ?? []
    const held = records.reduce((sum, entry) => sum + entry.message.p!.length, 0)
    expect(held).toBeLessThanOrEqual(bytes)
    expect(Number(await redis.get(`${P}purges:bytes`))).toBe(held)
    expect(JSON.parse(records.at(-1)!.message.p!).tags[0]).toBe('big39')
  })

  it('merging and trimming keep the log and its counter consistent (any sequence)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            key: fc.constantFrom('/a', '/b', '/c'),
            tag: fc.boolean(),
            pad: fc.nat({ max: 3000 }),
          }),
          { minLength: 1, maxLength: 40 }
        ),
        async (steps) => {
          await redis.flushAll()
          let at = Date.now()
          for (const step of steps) {
            const rec = purge(at++, {
              keys: [step.key],
              tags: step.tag ? ['x'.repeat(step.pad)] : [],
            })
            await record(rec, false, { entries: 8, bytes: 8 * 1024 })
          }
          const records = (await redis.xRange(`${P}purges`, '-', '+')) ?? []
          const held = records.reduce((sum, entry) => sum + entry.message.p!.length, 0)
          expect(records.length).toBeLessThanOrEqual(8)
          expect(Number(await redis.get(`${P}purges:bytes`))).toBe(held)
          // The last purge is always there.
          expect(JSON.parse(records.at(-1)!.message.p!).at).toBe(at - 1)
        }
      ),
      { numRuns: 40 }
    )
  })
})
