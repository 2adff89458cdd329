import { DurableObject } from 'cloudflare:workers'
import {
  leaseMs,
  type LeaseAnswer,
  type LeaseRequest,
  type LeaseReturn,
  type LimitDecision,
  type WindowRule,
} from '../src/ratelimit/window'
import { StampLog } from '../src/ratelimit/stamp-log'

export type {
  LeaseAnswer,
  LeaseRequest,
  LeaseReturn,
  LimitDecision,
  WindowRule,
} from '../src/ratelimit/window'

const LOG_KEY = 'log'
const LEASES_KEY = 'leases'

/**
 * An isolate holds at most this share of the free slots: the last few slots are spread over the
 * isolates asking for them instead of sitting in one isolate's lease.
 */
const HOLD_SHARE = 2

/** Held permits of one lease: `held` entries stamped `until` (its end) in the log. */
interface LeaseRecord {
  readonly held: number
  readonly until: number
}

/** A requested number of permits as a count (0 for anything else). */
const count = (n: number) => (Number.isFinite(n) ? Math.max(0, Math.floor(n)) : 0)

/**
 * Exact sliding window for one (rule, identity): the sorted log of counted permits, at most `limit`
 * long. A permit counts from the moment it is granted until a window after its stamp: a request's
 * own permit is stamped when granted (as `hit` always did), a permit held in a lease is stamped at
 * the lease's end, so whenever the isolate uses it, the request is counted for a full window after
 * it. A Durable Object runs one call at a time and grants only free slots, so the permits counted at
 * any instant, used or held, never exceed `limit`: however many isolates hold leases, admissions in
 * any window never do either. Unused permits come back with `returns`; held ones never returned
 * count as used (the safe side). The log and leases are persisted (an eviction cannot reset a
 * window); an alarm one to two windows after the newest stamp deletes everything, so an identity
 * that stops sending costs nothing.
 */
export class RateLimiter extends DurableObject {
  private log = new StampLog()
  private leases = new Map<string, LeaseRecord>()
  /** When the scheduled alarm fires (0: none): set again only when a stamp outlives it. */
  private alarmAt = 0

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env)
    void ctx.blockConcurrencyWhile(async () => {
      // Runs of equal stamps (StampLog); one stamp per permit from earlier versions is read too.
      this.log = StampLog.from(await ctx.storage.get(LOG_KEY))
      // Storage keeps a Map as it is (structured clone).
      this.leases = (await ctx.storage.get<Map<string, LeaseRecord>>(LEASES_KEY)) ?? new Map()
      this.alarmAt = (await ctx.storage.getAlarm()) ?? 0
    })
  }

  /** Decides one request. `now` is for tests with controlled time; the Worker never passes it. */
  async hit(rule: WindowRule, now: number = Date.now()): Promise<LimitDecision> {
    const answer = await this.lease(rule, { take: 1, hold: 0, returns: [] }, now)
    return {
      allowed: answer.taken === 1,
      limit: rule.limit,
      remaining: answer.remaining,
      resetMs: answer.resetMs,
    }
  }

  /**
   * Grants up to `take` permits for requests waiting now and, while slots are free, up to `hold`
   * more (at most 1/HOLD_SHARE of what is free) for the next `leaseMs` of this window, after
   * dropping the unused permits of `returns`.
   */
  async lease(
    rule: WindowRule,
    request: LeaseRequest,
    now: number = Date.now()
  ): Promise<LeaseAnswer> {
    let changed = this.applyReturns(request.returns)
    changed = this.expire(rule, now) || changed
    let free = rule.limit - this.log.size
    const taken = Math.min(count(request.take), free)
    free -= taken
    const held = Math.min(count(request.hold), Math.ceil(free / HOLD_SHARE))
    const ms = leaseMs(rule.windowMs)
    let id = ''
    if (taken > 0) this.log.insert(now, taken)
    if (held > 0) {
      id = crypto.randomUUID()
      this.leases.set(id, { held, until: now + ms })
      this.log.insert(now + ms, held)
    }
    if (changed || taken + held > 0) await this.persist(rule, now, taken + held > 0)
    let reclaimable = 0
    for (const [other, record] of this.leases) {
      if (other !== id) reclaimable += record.held
    }
    return {
      taken,
      held,
      id,
      leaseMs: ms,
      at: now,
      remaining: rule.limit - this.log.size,
      resetMs: this.resetMs(rule, now),
      reclaimable,
    }
  }

  /** Drops the unused permits of finished leases (for an isolate with no request to piggy-back on). */
  async release(
    rule: WindowRule,
    returns: readonly LeaseReturn[],
    now: number = Date.now()
  ): Promise<void> {
    const changed = this.applyReturns(returns)
    if (this.expire(rule, now) || changed) await this.persist(rule, now, false)
  }

  /**
   * Gives back used permits that turned out not to count: one log entry per stamp (a permit's
   * `LeaseAnswer.at`, or `at + leaseMs` for a held one), if the window still holds it. Stamps are
   * fungible, so any entry with that stamp will do. A miss-rate limit's request answered without the
   * origin (a coalesced follower) gives its permit back this way.
   */
  async forget(
    rule: WindowRule,
    stamps: readonly number[],
    now: number = Date.now()
  ): Promise<LimitDecision> {
    let changed = this.expire(rule, now)
    for (const stamp of stamps) {
      if (this.log.remove(stamp, 1) > 0) changed = true
    }
    if (changed) await this.persist(rule, now, false)
    return {
      allowed: this.log.size < rule.limit,
      limit: rule.limit,
      remaining: Math.max(0, rule.limit - this.log.size),
      resetMs: this.resetMs(rule, now),
    }
  }

  /**
   * Gives back the newest admission (a check that took a slot and turned out not to count, e.g. a
   * right admin token): the window then holds one entry fewer. Answers like `hit`, after the refund.
   * For objects without leases (the admin budget): with one, the newest entry is a held permit.
   */
  async refund(rule: WindowRule, now: number = Date.now()): Promise<LimitDecision> {
    if (this.log.popNewest()) await this.ctx.storage.put(LOG_KEY, this.log.toStored())
    return {
      allowed: this.log.size < rule.limit,
      limit: rule.limit,
      remaining: Math.max(0, rule.limit - this.log.size),
      resetMs: this.resetMs(rule, now),
    }
  }

  override async alarm(): Promise<void> {
    // Every stamp is older than its window by now (the alarm follows the newest one).
    this.alarmAt = 0
    this.log = new StampLog()
    this.leases = new Map()
    await this.ctx.storage.deleteAll()
  }

  private resetMs(rule: WindowRule, now: number): number {
    const oldest = this.log.oldest
    return oldest === undefined ? 0 : Math.max(0, oldest + rule.windowMs - now)
  }

  /** Removes each returned lease's unused permits; unknown ids (already returned, expired) are no-ops. */
  private applyReturns(returns: readonly LeaseReturn[]): boolean {
    let changed = false
    for (const { id, unused } of returns) {
      const record = this.leases.get(id)
      if (record === undefined) continue
      this.leases.delete(id)
      changed = true
      // Stamps are fungible: any permits stamped at the lease's end are its permits.
      this.log.remove(record.until, Math.min(count(unused), record.held))
    }
    return changed
  }

  /** Drops stamps out of the window `(now - W, ...]` and leases whose permits all left it. */
  private expire(rule: WindowRule, now: number): boolean {
    const since = now - rule.windowMs
    const expired = this.log.expireThrough(since)
    // A lowered limit: keep only the newest entries that still count.
    const trimmed = this.log.trimTo(rule.limit)
    let changed = expired > 0 || trimmed
    for (const [id, record] of this.leases) {
      if (record.until <= since) {
        this.leases.delete(id)
        changed = true
      }
    }
    return changed
  }

  private async persist(rule: WindowRule, now: number, granted: boolean): Promise<void> {
    await this.ctx.storage.put({ [LOG_KEY]: this.log.toStored(), [LEASES_KEY]: this.leases })
    const newest = this.log.newest
    if (granted && newest !== undefined) {
      // Real time, not `now`: the alarm must follow the newest stamp by a full window.
      await this.scheduleAlarm(
        Date.now() + Math.max(0, newest - now) + rule.windowMs,
        rule.windowMs
      )
    }
  }

  /**
   * Makes the alarm fire no earlier than `due`. A busy identity's newest stamp moves on with every
   * lease: the alarm is set a window past `due`, so it is written about once a window, not once a
   * lease (it fires at most a window late; it only deletes what has expired).
   */
  private async scheduleAlarm(due: number, slackMs: number): Promise<void> {
    if (due <= this.alarmAt) return
    this.alarmAt = due + slackMs
    await this.ctx.storage.setAlarm(this.alarmAt)
  }
}
