/**
 * PurgeScope's polling against fake region logs: when a view may call itself fresh, and how a region
 * that was cut off (its data kept) is caught up. Times are passed to `poll` explicitly.
 */
import { describe, expect, it } from 'vitest'
import type { CacheEntry } from '../../src/cache/entry'
import type { RegionOutcome } from '../../src/purge/log'
import { PurgeScope, type PurgeLogPort } from '../../src/purge/scope'
import type { PurgeRecord } from '../../src/purge/view'

const REGIONS = ['near', 'mid', 'far'] as const
type Region = (typeof REGIONS)[number]

const settings = {
  boundMs: 1000,
  pollIntervalMs: 100,
  horizonSeconds: 3600,
  maxLogEntries: 1000,
  maxScanKeys: 1000,
}

/** Three regions' logs in memory; a region can be cut off, or its reads held until released. */
class FakeLog implements PurgeLogPort {
  readonly regions: readonly string[] = REGIONS
  readonly logs = new Map<string, { id: string; record: unknown }[]>(REGIONS.map((r) => [r, []]))
  readonly cut = new Set<string>()
  readonly held = new Map<string, Array<() => void>>()
  readonly replays: Array<[string, string]> = []
  failReplays = 0
  #seq = 0

  append(region: string, record: unknown): void {
    const id = String(++this.#seq).padStart(8, '0')
    this.logs.get(region)!.push({ id, record })
  }

  /** Reads of `region` wait until `release(region)`. */
  hold(region: string): void {
    this.held.set(region, [])
  }

  release(region: string): void {
    const waiting = this.held.get(region) ?? []
    this.held.delete(region)
    for (const go of waiting) go()
  }

  async publish(_home: string, record: PurgeRecord) {
    const outcomes = this.regions.map((region): RegionOutcome => {
      if (this.cut.has(region)) return { region, ok: false, error: 'Error: 503' }
      this.append(region, record)
      return { region, ok: true }
    })
    return { outcomes, pending: Promise.resolve() }
  }

  async replay(_home: string, region: string, record: PurgeRecord): Promise<void> {
    if (this.cut.has(region)) throw new Error('503')
    if (this.failReplays > 0) {
      this.failReplays--
      throw new Error('replay failed')
    }
    this.replays.push([region, record.id])
    this.append(region, record)
  }

  async read(_home: string, region: string, after: string | undefined, count = 1000) {
    const waiting = this.held.get(region)
    if (waiting) await new Promise<void>((go) => waiting.push(go))
    if (this.cut.has(region)) throw new Error('503 service unavailable')
    const entries = this.logs
      .get(region)!
      .filter((entry) => after === undefined || entry.id > after)
      .slice(0, count)
    return {
      last: entries.at(-1)?.id ?? after,
      records: entries.map((entry) => entry.record as PurgeRecord),
    }
  }

  async status(): Promise<Record<string, boolean | undefined>> {
    return {}
  }
}

/** The router's view: the nearest healthy region first. */
function router(order: () => Region[]) {
  return { readOrder: () => order(), allDown: () => false }
}

let n = 0
function record(at: number, what: Partial<PurgeRecord> = {}): PurgeRecord {
  return { id: `r${++n}`, at, keys: [], tags: [], prefixes: [], soft: false, ...what }
}

function copy(storedAt: number): CacheEntry {
  return {
    kind: 'response',
    status: 200,
    headers: [],
    body: new Uint8Array(),
    storedAt,
    initialAgeSec: 0,
    freshUntil: storedAt + 600_000,
    staleWhileRevalidateUntil: storedAt + 600_000,
    staleIfErrorUntil: storedAt + 600_000,
    mustRevalidate: false,
    etag: undefined,
    lastModified: undefined,
    tags: [],
    fetchMs: 0,
  }
}

function setup(order: () => Region[] = () => [...REGIONS]) {
  const log = new FakeLog()
  const scope = new PurgeScope(settings, [], log, router(order))
  /** One request's poll at `at`, awaited. */
  const poll = async (at: number) => {
    await scope.poll('home', at)
  }
  return { log, scope, poll }
}

describe('purge scope: freshness', () => {
  it('a new view is fresh only once every log has answered, then from its nearest alone', async () => {
    const T = Date.now()
    const { log, scope, poll } = setup()
    log.hold('far')
    const first = scope.poll('home', T)
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(scope.view.freshAt).toBe(0)
    log.release('far')
    await first
    expect(scope.view.freshAt).toBe(T)
    // The nearest vouches from now on: the others are read ten times less often.
    log.hold('mid')
    log.hold('far')
    await poll(T + 100)
    expect(scope.view.freshAt).toBe(T + 100)
    await poll(T + 200)
    expect(scope.view.freshAt).toBe(T + 200)
    expect(log.held.get('mid')).toEqual([])
  })

  it('a region that fails vouches for nothing when it answers again, until the others were read after it', async () => {
    const T = Date.now()
    const { log, scope, poll } = setup()
    await poll(T)
    await poll(T + 100)
    log.cut.add('near')
    await poll(T + 200)
    expect(scope.view.freshAt).toBe(T + 100)
    // Cut off: a purge goes to the other regions only.
    const missed = record(T + 250, { keys: ['/a'] })
    log.append('mid', missed)
    log.append('far', missed)
    // The view asks every log now; without `near` (failing), the others vouch.
    await poll(T + 300)
    expect(scope.view.has(missed.id)).toBe(true)
    expect(scope.view.freshAt).toBe(T + 300)
    // Healed, its data kept: its log lacks the purge. Its answer alone moves nothing.
    log.cut.delete('near')
    log.hold('mid')
    log.hold('far')
    const healed = scope.poll('home', T + 1500)
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(scope.view.freshAt).toBe(T + 300)
    log.release('mid')
    log.release('far')
    await healed
    expect(scope.view.freshAt).toBe(T + 1500)
    // And from then on the nearest vouches again.
    await poll(T + 1600)
    expect(scope.view.freshAt).toBe(T + 1600)
  })

  it('an idle view: its nearest log, read again, does not make it fresh before the others answer', async () => {
    const T = Date.now()
    const { log, scope, poll } = setup()
    await poll(T)
    await poll(T + 100)
    // While the colo is idle, `near` is cut off and heals, missing a purge of /a.
    const missed = record(T + 2000, { keys: ['/a'] })
    log.append('mid', missed)
    log.append('far', missed)
    log.hold('mid')
    log.hold('far')
    const woken = scope.poll('home', T + 5000)
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(scope.view.freshAt).toBe(T + 100)
    expect(scope.trustNear(T + 5000)).toBe(false)
    log.release('mid')
    log.release('far')
    await woken
    expect(scope.view.freshAt).toBe(T + 5000)
    expect(scope.view.check('/a', copy(T + 1000), true)).toBeUndefined()
  })

  it('skips a malformed log entry and still learns the records after it', async () => {
    const T = Date.now()
    const { log, scope, poll } = setup()
    const good = record(T - 10, { tags: ['t'] })
    for (const junk of [
      'not a record',
      null,
      { id: 'x' },
      { ...record(T), keys: 'not a list' },
      { ...record(T), at: 'soon' },
    ])
      log.append('near', junk)
    log.append('near', good)
    await poll(T)
    expect(scope.view.has(good.id)).toBe(true)
    expect(scope.view.size).toBe(1)
    expect(scope.view.freshAt).toBe(T)
  })
})

describe('purge scope: catch-up', () => {
  it('replays into a healed region what it is known to have missed as soon as it answers, once', async () => {
    const T = Date.now()
    const { log, scope, poll } = setup()
    await poll(T)
    log.cut.add('near')
    const published = await scope.publish(
      { keys: ['/a'], tags: ['t'], prefixes: [], soft: false },
      'home'
    )
    expect(published.outcomes.filter((o) => !o.ok).map((o) => o.region)).toEqual(['near'])
    const at = published.record.at
    await poll(at + 100)
    expect(log.replays).toEqual([])
    // Healed, its data kept: its write failed, so no grace is waited out.
    log.cut.delete('near')
    await poll(at + 200)
    expect(log.replays).toEqual([['near', published.record.id]])
    await poll(at + 300)
    await poll(at + 2400)
    expect(log.replays).toHaveLength(1)
  })

  it('waits out the grace before replaying what a healthy region may still be receiving', async () => {
    const T = Date.now()
    const { log, scope, poll } = setup()
    await poll(T)
    const r = record(T + 50, { keys: ['/a'] })
    log.append('mid', r)
    await poll(T + 1100)
    expect(scope.view.has(r.id)).toBe(true)
    expect(log.replays).toEqual([])
    await poll(T + 2200)
    expect(log.replays.sort()).toEqual([
      ['far', r.id],
      ['near', r.id],
    ])
  })

  it('replays a record the view learned only after it had checked the region', async () => {
    const T = Date.now()
    const { log, scope, poll } = setup()
    await poll(T)
    // Recorded in `far` only (the others missed it); `far` answers late at the next poll.
    const late = record(T + 100, { keys: ['/a'] })
    log.append('far', late)
    log.hold('far')
    const next = scope.poll('home', T + 5000)
    await new Promise((resolve) => setTimeout(resolve, 0))
    log.release('far')
    await next
    expect(scope.view.has(late.id)).toBe(true)
    expect(log.replays).toEqual([])
    await poll(T + 5100)
    expect(log.replays).toEqual([['near', late.id]])
    // `mid` is far: read at its own (slower) rate, then caught up too.
    await poll(T + 6100)
    expect(log.replays).toEqual([
      ['near', late.id],
      ['mid', late.id],
    ])
  })

  it('retries a replay that failed, and spreads a long catch-up over polls', async () => {
    const T = Date.now()
    const { log, scope, poll } = setup(() => ['mid', 'far', 'near'])
    await poll(T)
    const missed = Array.from({ length: 20 }, (_, i) => record(T + i, { keys: [`/k${i}`] }))
    for (const r of missed) {
      log.append('mid', r)
      log.append('far', r)
    }
    await poll(T + 3000)
    expect(scope.view.size).toBe(20)
    log.failReplays = 1
    // `near` is the farthest from this colo: read at the slow rate, and its first replay fails.
    await poll(T + 4000)
    expect(log.replays).toEqual([])
    // Behind: read at the poll interval until caught up, 16 replays a poll.
    await poll(T + 4100)
    expect(log.replays).toHaveLength(16)
    await poll(T + 4200)
    expect(new Set(log.replays.map(([, id]) => id))).toEqual(new Set(missed.map((r) => r.id)))
    expect(log.replays.every(([region]) => region === 'near')).toBe(true)
  })
})

describe('purge scope: when a poll reads', () => {
  it('reads nothing before the poll interval, and the nearest log once it is due', async () => {
    const T = Date.now()
    const { log, scope, poll } = setup()
    await poll(T)
    const reads: string[] = []
    const read = log.read.bind(log)
    log.read = async (home, region, after, count) => {
      reads.push(region)
      return read(home, region, after, count)
    }
    for (let at = T + 1; at < T + settings.pollIntervalMs; at += 7) {
      expect(scope.poll('home', at)).toBeUndefined()
    }
    expect(reads).toEqual([])
    await poll(T + settings.pollIntervalMs)
    expect(reads).toEqual(['near'])
  })

  it('a full page is read on at the next request, not a poll interval later', async () => {
    const T = Date.now()
    const { log, scope, poll } = setup()
    // More than one page (1000 records) in the nearest log.
    for (let i = 0; i < 1500; i++) log.append('near', record(T - 10_000, { keys: [`/k${i}`] }))
    await poll(T)
    const next = scope.poll('home', T + 1)
    expect(next).toBeDefined()
    await next
    // Caught up: back to the poll interval.
    expect(scope.poll('home', T + 2)).toBeUndefined()
  })
})
