import { DurableObject } from 'cloudflare:workers'
import type { LimitDecision, WindowRule } from '../src/ratelimit/window'

export type { LimitDecision, WindowRule } from '../src/ratelimit/window'

const LOG_KEY = 'log'

/**
 * Exact sliding window for one (rule, identity): the log of admitted timestamps inside the window,
 * at most `limit` long. A Durable Object runs one call at a time, so concurrent requests of one
 * identity are decided in order and exactly `limit` are admitted per window however many race.
 * The log is persisted (an eviction cannot reset a window); an alarm at the end of the last window
 * deletes everything, so an identity that stops sending costs nothing.
 */
export class RateLimiter extends DurableObject {
  private log: number[] = []

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env)
    void ctx.blockConcurrencyWhile(async () => {
      this.log = (await ctx.storage.get<number[]>(LOG_KEY)) ?? []
    })
  }

  /** Decides one request. `now` is for tests with controlled time; the Worker never passes it. */
  async hit(rule: WindowRule, now: number = Date.now()): Promise<LimitDecision> {
    const since = now - rule.windowMs
    let expired = 0
    while (expired < this.log.length && this.log[expired]! <= since) expired++
    if (expired > 0) this.log.splice(0, expired)
    // A lowered limit: keep only the newest entries that still count.
    if (this.log.length > rule.limit) this.log.splice(0, this.log.length - rule.limit)

    const allowed = this.log.length < rule.limit
    if (allowed) {
      this.log.push(now)
      await this.ctx.storage.put(LOG_KEY, this.log)
      // Real time, not `now`: the alarm must follow the newest admission by a full window.
      await this.ctx.storage.setAlarm(Date.now() + rule.windowMs)
    } else if (expired > 0) {
      await this.ctx.storage.put(LOG_KEY, this.log)
    }
    const oldest = this.log[0]
    return {
      allowed,
      limit: rule.limit,
      remaining: rule.limit - this.log.length,
      resetMs: oldest === undefined ? 0 : Math.max(0, oldest + rule.windowMs - now),
    }
  }

  /**
   * Gives back the newest admission (a check that took a slot and turned out not to count, e.g. a
   * right admin token): the window then holds one entry fewer. Answers like `hit`, after the refund.
   */
  async refund(rule: WindowRule, now: number = Date.now()): Promise<LimitDecision> {
    if (this.log.length > 0) {
      this.log.pop()
      await this.ctx.storage.put(LOG_KEY, this.log)
    }
    const oldest = this.log[0]
    return {
      allowed: this.log.length < rule.limit,
      limit: rule.limit,
      remaining: Math.max(0, rule.limit - this.log.length),
      resetMs: oldest === undefined ? 0 : Math.max(0, oldest + rule.windowMs - now),
    }
  }

  override async alarm(): Promise<void> {
    // Every admitted request is older than its window by now (the alarm follows the newest one).
    this.log = []
    await this.ctx.storage.deleteAll()
  }
}
