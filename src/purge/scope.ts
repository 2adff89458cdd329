import type { StoredRecord } from '../cache/entry'
import type { CacheTier } from '../cache/tier'
import type { ReadGuard } from '../cache/tier-stack'
import type { PurgeSettings } from '../config/schema'
import type { RegionRouter } from '../l2/region-router'
import { z } from 'zod'
import { log as logLine } from '../lib/log'
import { withDeadline } from '../lib/with-deadline'
import type { MetricsAccumulator } from '../metrics/accumulator'
import type { PurgeLog, RegionOutcome } from './log'
import { PurgeView, type PurgeRecord } from './view'

export interface PurgeInput {
  readonly keys: readonly string[]
  readonly tags: readonly string[]
  readonly prefixes: readonly string[]
  readonly soft: boolean
}

export interface Published {
  readonly record: PurgeRecord
  /** Per region: recorded in its log (and, when hard, applied), or why not. Empty without L2. */
  readonly outcomes: readonly RegionOutcome[]
  /** Soft purges' L2 rewrites, for waitUntil. */
  readonly pending: Promise<unknown>
}

/**
 * A record as read from a log: anything else (a stray entry in a shared Redis, a half-written one) is
 * skipped, and the records after it are still learned.
 */
const names = z.array(z.string()).max(100_000)
const logRecordSchema = z.object({
  id: z.string().min(1).max(200),
  at: z.number().finite().nonnegative(),
  keys: names,
  tags: names,
  prefixes: names,
  soft: z.boolean(),
})

/** What the scope needs of the regions' logs (src/purge/log.ts; tests give a fake). */
export type PurgeLogPort = Pick<PurgeLog, 'regions' | 'publish' | 'read' | 'replay' | 'status'>

/** What the scope needs of the router: the nearest healthy region, and whether every region is down. */
export type PurgeRouterPort = Pick<RegionRouter, 'readOrder' | 'allDown'>

interface RegionCursor {
  /** Last stream id read from this region's log. */
  last: string | undefined
  polling: boolean
  /** The read of this region's log in flight, if any (far copies may wait for it). */
  reading?: Promise<unknown>
  startedAt: number
  /** When the last complete read of its log started (0: never). */
  readAt: number
  /**
   * When its current run of reads began: the first read after a failure or a silence. A region that
   * kept answering this view is taken to have kept receiving purges, so its log holds every purge
   * made since then; what it lacks from before, only the other regions' logs can tell.
   */
  runSince: number
  /** Its last read failed: its log may now lack purges (they were recorded elsewhere). */
  failing: boolean
  /**
   * Records this view holds that the region's log has not shown: replayed into it once overdue.
   * `sure`: its write there failed (this colo's own purge), so it is overdue at once.
   */
  readonly pending: Map<string, { readonly record: PurgeRecord; readonly sure: boolean }>
  /** Overdue records are left to replay (the per-poll cap, or a replay failed). */
  behind: boolean
}

/** Replays into a lagging region per poll, at most: catch-up is spread, never a burst. */
const MAX_REPLAYS_PER_POLL = 16
/** The other regions' logs are read this many times less often than the nearest one's. */
const FAR_POLL_FACTOR = 10
/** The pending records looked at per poll and region (the oldest, the ones overdue, come first). */
const MAX_REPLAY_SCAN = 256
/**
 * A record is only "missing" from a region whose log was read this long after the record (its write
 * there may still be on its way), unless the region is known to have missed it: its write failed, or
 * the region was failing when the view learned it.
 */
const REPLAY_GRACE_MS = 2000
/**
 * Reads of one log further apart than this many poll intervals break its run: the view was not
 * watching, the region may have been cut off and missed purges in between, so it no longer vouches
 * for them alone.
 */
const CONTINUITY_POLLS = 3
/** Records read per page: a full page means more to read before the view is caught up. */
const PAGE = 1000

/**
 * Purges as one colo (one isolate's share of it) sees them: its PurgeView, fed by this colo's own
 * purges at once and by every region's log, polled off the hot path; and the read guard the tier
 * stack applies to every copy. Without L2 there is no log: the view holds this isolate's purges only
 * (tags and prefixes then reach this colo's memory and L1, as URL purges always did).
 *
 * Freshness (`view.freshAt`: the view holds every purge made before it) comes only from logs that
 * can vouch for it: every reachable region's log read after an instant, or one region read again and
 * again, without a failure or a silence, since an instant the view was already fresh at. A region
 * that failed a read (cut off: purges went to the others only) vouches again only once the others
 * were read after it came back; a region's log that lacks what the others hold gets it replayed.
 */
export class PurgeScope {
  readonly view: PurgeView
  readonly #cursors = new Map<string, RegionCursor>()
  /** Before this instant no region's read can be due (poll returns at once). */
  #quietUntil = 0

  constructor(
    private readonly settings: PurgeSettings,
    /** This colo's memory tier and L1: what a purge here deletes at once. */
    readonly near: readonly CacheTier[],
    readonly log: PurgeLogPort | undefined,
    private readonly router: PurgeRouterPort | undefined,
    /** Where refusals, stale views and replays are counted (the isolate's metrics). */
    private readonly metrics?: Pick<MetricsAccumulator, 'increment'>,
    /** Whether reads have tiers beyond the near ones (L2) to go to while the view is stale. */
    private readonly farTiers = true
  ) {
    this.view = new PurgeView({
      maxRecords: settings.maxLogEntries,
      horizonMs: settings.horizonSeconds * 1000,
    })
    if (log === undefined) this.view.freshAt = Number.POSITIVE_INFINITY
  }

  /**
   * The guard for a tier stack whose first `near` tiers are this colo's. While the view is not
   * trusted, a far copy waits (at most `waitMs`) for the log reads in flight before it is checked.
   */
  guard(near: number, waitMs = 0): ReadGuard {
    return {
      near,
      // Every log read in flight (this request's poll, or one an earlier request started).
      settle: async () => {
        const reads = [...this.#cursors.values()].flatMap((cursor) => cursor.reading ?? [])
        if (reads.length === 0 || waitMs <= 0) return
        await withDeadline(Promise.all(reads), waitMs, 'purge view catch-up').catch(() => {})
      },
      trustNear: () => this.trustNear(Date.now()),
      caughtUp: () => this.#trusted(Date.now()),
      check: (key: string, record: StoredRecord, isNear: boolean) => {
        const verdict = this.view.check(key, record, isNear)
        if (verdict === undefined) this.metrics?.increment('purge_refused_total')
        return verdict
      },
    }
  }

  /**
   * Whether memory and L1 may answer: the view heard from a log within the bound. With every region
   * down nothing can be purged anyway (the API refuses), so they keep serving: availability first.
   */
  trustNear(now: number): boolean {
    if (now - this.view.freshAt <= this.settings.boundMs) return true
    if (this.router?.allDown(now)) {
      this.metrics?.increment('purge_view_stale_total', { action: 'served' })
      return true
    }
    this.metrics?.increment('purge_view_stale_total', { action: this.farTiers ? 'l2' : 'waited' })
    return false
  }

  /** trustNear without counting: after a wait for the log reads in flight. */
  #trusted(now: number): boolean {
    return now - this.view.freshAt <= this.settings.boundMs || this.router?.allDown(now) === true
  }

  /** Applies a purge here at once, then records it in every reachable region's log. */
  async publish(input: PurgeInput, home: string | undefined): Promise<Published> {
    const record: PurgeRecord = {
      id: crypto.randomUUID(),
      at: Date.now(),
      keys: [...input.keys],
      tags: [...input.tags],
      prefixes: [...input.prefixes],
      soft: input.soft,
    }
    this.view.add(record)
    if (!input.soft) {
      await Promise.all(
        record.keys.flatMap((key) => this.near.map((tier) => tier.delete(key).catch(() => false)))
      )
    }
    if (this.log === undefined || home === undefined)
      return { record, outcomes: [], pending: Promise.resolve() }
    const { outcomes, pending } = await this.log.publish(home, record)
    // A region that missed it gets it replayed once it answers again (the others have it).
    for (const outcome of outcomes) if (!outcome.ok) this.#expect(record, [outcome.region], true)
    return { record, outcomes, pending }
  }

  /** The reads of the regions' logs that are due (each region on its own clock), or undefined. */
  poll(home: string, now = Date.now()): Promise<unknown> | undefined {
    const log = this.log
    // Asked on every request: until the earliest a region can be due, nothing to work out.
    if (log === undefined || now < this.#quietUntil) return undefined
    const due: Promise<unknown>[] = []
    // The nearest healthy region at the poll interval (its log has every purge made while it was
    // up); the others less often, to merge what it missed and to catch it up. When the nearest
    // cannot vouch for the view (new, idle, just failed over), every log at once: the view is only
    // fresh again once all have answered. A failing or lagging region is tried at the poll interval
    // too, so it is heard, and caught up, as soon as it is back.
    const nearest = this.router?.readOrder(home, now)[0]
    const everyone = nearest === undefined || !this.#vouches(this.#cursor(nearest), now)
    for (const region of log.regions) {
      const cursor = this.#cursor(region)
      const near = everyone || region === nearest || cursor.failing || cursor.behind
      const interval = near
        ? this.settings.pollIntervalMs
        : this.settings.pollIntervalMs * FAR_POLL_FACTOR
      // Breakers notwithstanding: a poll is off the hot path, and a region back up should be heard
      // (a success closes its breaker) before a read would try it.
      if (cursor.polling || now - cursor.startedAt < interval) continue
      cursor.polling = true
      cursor.startedAt = now
      const reading = this.#read(log, home, region, cursor, now).finally(() => {
        cursor.polling = false
        cursor.reading = undefined
      })
      cursor.reading = reading
      due.push(reading)
    }
    // No region is read again sooner than the poll interval after its last read started (a far or
    // a failing one may be later, a region in flight is skipped until then anyway).
    let earliest = Infinity
    for (const region of log.regions) earliest = Math.min(earliest, this.#cursor(region).startedAt)
    this.#quietUntil = earliest + this.settings.pollIntervalMs
    return due.length > 0 ? Promise.all(due) : undefined
  }

  #cursor(region: string): RegionCursor {
    let cursor = this.#cursors.get(region)
    if (cursor === undefined) {
      cursor = {
        last: undefined,
        polling: false,
        startedAt: 0,
        readAt: 0,
        runSince: 0,
        failing: false,
        pending: new Map(),
        behind: false,
      }
      this.#cursors.set(region, cursor)
    }
    return cursor
  }

  /** Whether a read of this region's log started at `now` would keep the view fresh on its own. */
  #vouches(cursor: RegionCursor, now: number): boolean {
    return (
      !cursor.failing &&
      cursor.readAt > 0 &&
      now - cursor.readAt <= CONTINUITY_POLLS * this.settings.pollIntervalMs &&
      cursor.runSince <= this.view.freshAt
    )
  }

  /** `record` is known here: each of `regions` must show it in its log, or get it replayed. */
  #expect(record: PurgeRecord, regions: readonly string[], sure: boolean): void {
    for (const region of regions) {
      const cursor = this.#cursor(region)
      const { pending } = cursor
      pending.set(record.id, { record, sure: sure || cursor.failing })
      // Known to be missing: read (and caught up) at the poll interval, not the far one.
      if (sure) cursor.behind = true
      // Bounded like the view: the oldest goes first (another colo's poller replays it).
      if (pending.size > this.settings.maxLogEntries) {
        pending.delete(pending.keys().next().value!)
      }
    }
  }

  async #read(
    log: PurgeLogPort,
    home: string,
    region: string,
    cursor: RegionCursor,
    started: number
  ): Promise<void> {
    let page
    try {
      page = await log.read(home, region, cursor.last, PAGE)
    } catch {
      // The region's breaker counted it. Its log may now miss purges: it vouches for nothing until
      // it answers again and the others were read after that (#refresh).
      cursor.failing = true
      // The others may vouch without it now (a purge recorded only there waits until it answers).
      this.#refresh()
      return
    }
    cursor.last = page.last
    const others = this.log!.regions.filter((other) => other !== region)
    for (const raw of page.records) {
      const parsed = logRecordSchema.safeParse(raw)
      if (!parsed.success) {
        const why = parsed.error.issues.map((i) => `${i.path.join('.') || 'record'}: ${i.message}`)
        logLine.warn('purge_log_record_skipped', { region, error: why.join('; ') })
        continue
      }
      const record: PurgeRecord = parsed.data
      cursor.pending.delete(record.id)
      if (this.view.add(record)) this.#expect(record, others, false)
    }
    if (page.records.length >= PAGE) {
      // More to read: the view is not caught up with this region yet; the next request polls again.
      cursor.startedAt = 0
      this.#quietUntil = 0
      return
    }
    // What the read vouches for: everything recorded before it started, or before the instant the
    // region's feed object last confirmed its log, if earlier.
    const at = page.asOf === undefined ? started : Math.min(started, page.asOf)
    const continuous =
      !cursor.failing &&
      cursor.readAt > 0 &&
      at - cursor.readAt <= CONTINUITY_POLLS * this.settings.pollIntervalMs
    if (!continuous) cursor.runSince = at
    cursor.failing = false
    cursor.readAt = Math.max(cursor.readAt, at)
    this.#refresh()
    await this.#catchUp(log, home, region, cursor, at)
  }

  /**
   * Moves `view.freshAt` as far as the logs read vouch for: every reachable region read after an
   * instant (a purge is recorded in at least one region before the API answers; one recorded only in
   * a region that is failing now waits until it answers), then each region's unbroken run of reads
   * that began while the view was already fresh.
   */
  #refresh(): void {
    const cursors = this.log!.regions.map((region) => this.#cursor(region))
    const reachable = cursors.filter((cursor) => !cursor.failing)
    let fresh = this.view.freshAt
    if (reachable.length > 0 && reachable.every((cursor) => cursor.readAt > 0)) {
      fresh = Math.max(fresh, Math.min(...reachable.map((cursor) => cursor.readAt)))
    }
    for (let moved = true; moved;) {
      moved = false
      for (const cursor of reachable) {
        if (cursor.runSince > 0 && cursor.runSince <= fresh && cursor.readAt > fresh) {
          fresh = cursor.readAt
          moved = true
        }
      }
    }
    this.view.freshAt = fresh
  }

  /**
   * Catch-up: replays into `region` the records the view holds and its log, read at `started`, still
   * lacks after the grace (a few per poll; the region's own script skips one it has applied). A
   * replay that fails is tried again at the next poll.
   */
  async #catchUp(
    log: PurgeLogPort,
    home: string,
    region: string,
    cursor: RegionCursor,
    started: number
  ): Promise<void> {
    const due = started - REPLAY_GRACE_MS
    const horizon = Date.now() - this.settings.horizonSeconds * 1000
    let replays = 0
    let scanned = 0
    cursor.behind = false
    for (const [id, { record, sure }] of cursor.pending) {
      if (++scanned > MAX_REPLAY_SCAN) break
      if (record.at < horizon) {
        cursor.pending.delete(id)
        continue
      }
      if (record.at >= (sure ? started : due)) {
        // Published while this read was on its way: due at the next one, at the poll interval.
        if (sure) cursor.behind = true
        continue
      }
      if (replays >= MAX_REPLAYS_PER_POLL) {
        cursor.behind = true
        break
      }
      replays++
      try {
        await log.replay(home, region, record)
      } catch {
        cursor.behind = true
        break // It failed again: the next poll retries.
      }
      cursor.pending.delete(id)
      this.metrics?.increment('purge_replays_total')
    }
  }

  /** Whether this colo's memory or L1 holds a copy at `key` (the purge API reports it). */
  async holds(key: string): Promise<boolean> {
    const found = await Promise.all(
      this.near.map((tier) =>
        tier.get(key).then(
          (record) => record !== undefined,
          () => false
        )
      )
    )
    return found.some(Boolean)
  }
}
