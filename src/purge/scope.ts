import type { StoredRecord } from '../cache/entry'
import type { CacheTier } from '../cache/tier'
import type { ReadGuard } from '../cache/tier-stack'
import type { PurgeSettings } from '../config/schema'
import type { RegionRouter } from '../l2/region-router'
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

interface RegionCursor {
  /** Last stream id read from this region's log. */
  last: string | undefined
  polling: boolean
  startedAt: number
  /** Ids read from this region's log: a record the others have and it lacks is replayed into it. */
  readonly seen: Set<string>
  /** Records made before this were checked against this region's log. */
  checkedUntil: number
}

/** Replays into a lagging region per poll, at most: catch-up is spread, never a burst. */
const MAX_REPLAYS_PER_POLL = 16
/** The other regions' logs are read this many times less often than the nearest one's. */
const FAR_POLL_FACTOR = 10
/** The newest records looked at per poll and region. */
const MAX_REPLAY_SCAN = 256
/** A record is only "missing" from a region whose log was read this long after the record. */
const REPLAY_GRACE_MS = 2000

/**
 * Purges as one colo (one isolate's share of it) sees them: its PurgeView, fed by this colo's own
 * purges at once and by every region's log, polled off the hot path; and the read guard the tier
 * stack applies to every copy. Without L2 there is no log: the view holds this isolate's purges only
 * (tags and prefixes then reach this colo's memory and L1, as URL purges always did).
 */
export class PurgeScope {
  readonly view: PurgeView
  readonly #cursors = new Map<string, RegionCursor>()

  constructor(
    private readonly settings: PurgeSettings,
    /** This colo's memory tier and L1: what a purge here deletes at once. */
    readonly near: readonly CacheTier[],
    readonly log: PurgeLog | undefined,
    private readonly router: RegionRouter | undefined,
    /** Where refusals, stale views and replays are counted (the isolate's metrics). */
    private readonly metrics?: Pick<MetricsAccumulator, 'increment'>
  ) {
    this.view = new PurgeView({
      maxRecords: settings.maxLogEntries,
      horizonMs: settings.horizonSeconds * 1000,
    })
    if (log === undefined) this.view.freshAt = Number.POSITIVE_INFINITY
  }

  /** The guard for a tier stack whose first `near` tiers are this colo's. */
  guard(near: number): ReadGuard {
    return {
      near,
      trustNear: () => this.trustNear(Date.now()),
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
    this.metrics?.increment('purge_view_stale_total', { action: 'l2' })
    return false
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
    return { record, outcomes, pending }
  }

  /** The reads of the regions' logs that are due (each region on its own clock), or undefined. */
  poll(home: string, now = Date.now()): Promise<unknown> | undefined {
    const log = this.log
    if (log === undefined) return undefined
    const due: Promise<unknown>[] = []
    // The nearest healthy region at the poll interval (its log has every purge made while it was
    // up); the others less often, to merge what it missed and to catch it up.
    const nearest = this.router?.readOrder(home, now)[0]
    for (const region of log.regions) {
      const interval =
        region === nearest
          ? this.settings.pollIntervalMs
          : this.settings.pollIntervalMs * FAR_POLL_FACTOR
      let cursor = this.#cursors.get(region)
      if (cursor === undefined) {
        cursor = { last: undefined, polling: false, startedAt: 0, seen: new Set(), checkedUntil: 0 }
        this.#cursors.set(region, cursor)
      }
      // Breakers notwithstanding: a poll is off the hot path, and a region back up should be heard
      // (a success closes its breaker) before a read would try it.
      if (cursor.polling || now - cursor.startedAt < interval) continue
      cursor.polling = true
      cursor.startedAt = now
      due.push(this.#read(log, home, region, cursor, now).finally(() => (cursor.polling = false)))
    }
    return due.length > 0 ? Promise.all(due) : undefined
  }

  async #read(
    log: PurgeLog,
    home: string,
    region: string,
    cursor: RegionCursor,
    started: number
  ): Promise<void> {
    let page
    try {
      page = await log.read(home, region, cursor.last)
    } catch {
      return // The region's breaker counted it; the others keep the view fresh.
    }
    cursor.last = page.last
    for (const record of page.records) {
      cursor.seen.add(record.id)
      this.view.add(record)
    }
    if (page.records.length >= 1000) {
      // More to read: the view is not caught up with this region yet; the next request polls again.
      cursor.startedAt = 0
      return
    }
    if (started > this.view.freshAt) this.view.freshAt = started
    await this.#replayMissing(log, home, region, cursor, started)
  }

  /** A region that was down during purges gets them from the view (which other regions' logs fed). */
  async #replayMissing(
    log: PurgeLog,
    home: string,
    region: string,
    cursor: RegionCursor,
    started: number
  ): Promise<void> {
    if (cursor.seen.size > 2 * this.settings.maxLogEntries) cursor.seen.clear()
    // Only records not checked for this region yet (newest last, roughly): a few per poll, not all.
    const due = started - REPLAY_GRACE_MS
    const records = this.view.records()
    let replays = 0
    const oldest = Math.max(0, records.length - MAX_REPLAY_SCAN)
    for (let i = records.length - 1; i >= oldest && replays < MAX_REPLAYS_PER_POLL; i--) {
      const record = records[i]!
      if (record.at < cursor.checkedUntil - REPLAY_GRACE_MS) continue
      if (record.at >= due || cursor.seen.has(record.id)) continue
      cursor.seen.add(record.id)
      replays++
      await log.replay(home, region, record).catch(() => {})
      this.metrics?.increment('purge_replays_total')
    }
    if (replays < MAX_REPLAYS_PER_POLL) cursor.checkedUntil = due
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
