import { withDeadline } from '../lib/with-deadline'
import type { LeaseAnswer, LeaseRequest, LeaseReturn, LimitDecision } from './window'
import { sleep } from '../lib/sleep'

/** One identity's RateLimiter object, as a lease book asks it (a chaos wrapper in tests fits it). */
export interface PermitSource {
  lease(request: LeaseRequest): Promise<LeaseAnswer>
  release(returns: readonly LeaseReturn[]): Promise<void>
}

/**
 * What one request gets: a decision, or why the limiter could not give one in time. An admission
 * names its permit's `stamp` in the object's log (see RateLimiter `forget`).
 */
export type PermitResult =
  { readonly decision: LimitDecision; readonly stamp?: number } | { readonly unavailable: string }

export interface PermitPolicy {
  readonly limit: number
  /** Permits per lease (the waiting request's included); 1: every request asks the object. */
  readonly leaseSize: number
  /** Deadline of each request to the object. */
  readonly timeoutMs: number
}

export interface LeaseBookOptions {
  readonly clock?: () => number
  /** Identities kept; past it the least recently used idle ones are dropped. */
  readonly maxIdentities?: number
}

/** How often a busy isolate looks for expired leases (a lease lasts at least a second or so). */
const SWEEP_INTERVAL_MS = 1000

interface Lease {
  readonly id: string
  left: number
  readonly expiresAt: number
  /** Its permits' stamp in the object's log (the lease's end, by the object's clock). */
  readonly stamp: number
  /** Free slots at the grant, leased permits counted as used (so never more than was left). */
  readonly remaining: number
  readonly resetAt: number
}

/** A refusal that holds until `until`: nothing could free a slot before then. */
interface Refusal {
  readonly until: number
}

/** The permits of one identity in this isolate: the leases granted to its requests, in order. */
class IdentityPermits {
  leases: Lease[] = []
  refusal: Refusal | undefined
  /** Finished leases not yet reported: piggy-backed on the next lease request, or swept. */
  returns: LeaseReturn[] = []
  /** Lease requests in flight (each a request's own). */
  asking = 0
  /** A background lease request in flight (see LeaseBook `prefetch`). */
  prefetching = false
  /** Permits used here since `since`, the lease length, and the last renewal's size: the demand. */
  used = 0
  since: number
  leaseMs = 0
  demand = 0
  /** The object's round trip as this isolate sees it (a moving average; 0: not yet measured). */
  rttMs = 0

  constructor(
    public source: PermitSource,
    public policy: PermitPolicy,
    now: number
  ) {
    this.since = now
  }

  /** Ends a lease (used up or expired): its unused permits go back with the next report. */
  retire(lease: Lease): void {
    this.returns.push({ id: lease.id, unused: lease.left })
    this.leases = this.leases.filter((held) => held !== lease)
  }

  /** Ends the expired leases. */
  expire(now: number): void {
    for (const lease of this.leases) if (now >= lease.expiresAt) this.retire(lease)
  }

  held(): number {
    return this.leases.reduce((sum, lease) => sum + lease.left, 0)
  }

  /** A permit from a lease, or a standing refusal; undefined: the object must be asked. */
  local(now: number): { decision: LimitDecision; stamp?: number } | undefined {
    const { limit } = this.policy
    this.expire(now)
    const lease = this.leases[0]
    if (lease !== undefined) {
      lease.left--
      this.used++
      if (lease.left === 0) this.retire(lease)
      // The newest grant's count already holds the older leases' permits as used.
      const remaining = (this.leases.at(-1) ?? lease).remaining + this.held()
      const resetMs = Math.max(0, lease.resetAt - now)
      return { decision: { allowed: true, limit, remaining, resetMs }, stamp: lease.stamp }
    }
    if (this.refusal !== undefined && now < this.refusal.until) {
      const resetMs = this.refusal.until - now
      return { decision: { allowed: false, limit, remaining: 0, resetMs } }
    }
    this.refusal = undefined
    return undefined
  }

  idle(now: number): boolean {
    return (
      this.asking === 0 &&
      !this.prefetching &&
      this.leases.length === 0 &&
      this.returns.length === 0 &&
      (this.refusal === undefined || now >= this.refusal.until)
    )
  }
}

/** A renewal never holds more than this many leases' worth (`leaseSize` each). */
const MAX_RENEWAL_LEASES = 8

/**
 * How many permits a renewal asks for: what this isolate used for the identity over one lease's
 * length lately (so a busy identity renews about once a lease, not once per `leaseSize` requests),
 * at least `leaseSize` and at most MAX_RENEWAL_LEASES × `leaseSize`. Resets the demand count.
 */
function renewalSize(permits: IdentityPermits, leaseSize: number, now: number): number {
  const elapsed = now - permits.since
  const demand =
    elapsed > 0 && permits.leaseMs > 0 ? Math.ceil((permits.used * permits.leaseMs) / elapsed) : 0
  permits.used = 0
  permits.since = now
  permits.demand = Math.min(leaseSize * MAX_RENEWAL_LEASES, Math.max(leaseSize, demand))
  return permits.demand
}

/**
 * How few held permits start a renewal: what lasts about three of the object's round trips at the
 * rate a lease was sized for (a lease lasts `leaseMs`), between an eighth and half of a lease. Late
 * enough that the next lease is not granted long before its permits are used (a lease's time runs
 * from its grant: one granted with half the last still held loses half its time, and a busy
 * identity then renews twice a lease), early enough that it lands before the last permit goes.
 * Half a lease until the round trip is known.
 */
function renewalPoint(permits: IdentityPermits, leaseSize: number): number {
  const lease = Math.max(leaseSize, permits.demand)
  if (permits.rttMs === 0 || permits.leaseMs === 0) return lease / 2
  const share = Math.min(1 / 2, Math.max(1 / 8, (3 * permits.rttMs) / permits.leaseMs))
  return lease * share
}

/**
 * Permit leases of one isolate: a request takes a permit its isolate already holds for its identity
 * (no Durable Object round trip); a request that finds none asks the RateLimiter object itself, for
 * its own permit and up to `leaseSize - 1` more to hold. Each request waits on its own call only:
 * workerd cancels a request that waits on I/O another request started (it looks hung). A request
 * refused while other leases are on their way looks at what its isolate holds once more. Exactness
 * is the object's: it counts every permit it grants as used until returned, so the admissions of all
 * isolates together never exceed the limit; what one isolate holds unused (for at most a tenth of
 * the window) is the most the others can be refused wrongly.
 */
export class LeaseBook {
  private readonly identities = new Map<string, IdentityPermits>()
  private readonly clock: () => number
  private readonly maxIdentities: number
  private nextSweepAt = 0

  constructor(options: LeaseBookOptions = {}) {
    this.clock = options.clock ?? Date.now
    this.maxIdentities = options.maxIdentities ?? 10_000
  }

  /**
   * One request's permit for identity `key`. Never throws; every wait ends within the deadline.
   * Given `defer` (the request's waitUntil), a permit taken from a lease that is running low also
   * asks for the next lease in the background, so a busy identity rarely waits on the object.
   */
  async acquire(
    key: string,
    source: PermitSource,
    policy: PermitPolicy,
    defer?: (work: Promise<unknown>) => void
  ): Promise<PermitResult> {
    let permits = this.identities.get(key)
    if (permits === undefined) {
      if (this.identities.size >= this.maxIdentities) this.evict()
      permits = new IdentityPermits(source, policy, this.clock())
    } else {
      this.identities.delete(key)
      permits.source = source
      permits.policy = policy
    }
    // Map order is recency: the least recently used identity comes first.
    this.identities.set(key, permits)
    const held =
      this.takeLocal(permits, defer) ??
      (permits.prefetching || permits.asking > 0
        ? await this.awaitRenewal(permits, defer)
        : undefined)
    if (held !== undefined) return held
    permits.asking++
    try {
      return await this.ask(permits)
    } catch (error) {
      // A bug, not the object: the request still gets an answer.
      return { unavailable: String(error) }
    } finally {
      permits.asking--
    }
  }

  /**
   * `acquire` when this isolate can decide at once (a held permit, or a standing refusal), with no
   * promise in between; undefined: the object must be asked (call `acquire`).
   */
  tryLocal(
    key: string,
    policy: PermitPolicy,
    defer?: (work: Promise<unknown>) => void
  ): PermitResult | undefined {
    const permits = this.identities.get(key)
    if (permits === undefined) return undefined
    permits.policy = policy
    const held = this.takeLocal(permits, defer)
    if (held !== undefined) {
      this.identities.delete(key)
      this.identities.set(key, permits)
    }
    return held
  }

  /** A held permit or a standing refusal (renewing a lease running low); undefined: ask the object. */
  private takeLocal(
    permits: IdentityPermits,
    defer: ((work: Promise<unknown>) => void) | undefined
  ): PermitResult | undefined {
    const held = permits.local(this.clock())
    if (held !== undefined && defer !== undefined && held.decision.allowed) {
      this.prefetch(permits, defer)
    }
    return held
  }

  /**
   * A request that finds no permit while a lease is on its way (a renewal, or another request's
   * own call, which holds permits for others) waits a little for it, on its own timers (workerd
   * cancels a request that waits on I/O another request started), instead of asking the object
   * itself: in a burst, every request in the gap would otherwise make its own call. For about two
   * of the object's round trips, never past the policy's deadline; undefined: ask.
   */
  private async awaitRenewal(
    permits: IdentityPermits,
    defer: ((work: Promise<unknown>) => void) | undefined
  ): Promise<PermitResult | undefined> {
    const waitMs = Math.min(permits.policy.timeoutMs, Math.max(2, Math.ceil(2 * permits.rttMs)))
    // Counted in ticks, not by the clock: a test's clock may stand still.
    for (let tick = 0; tick < waitMs && (permits.prefetching || permits.asking > 0); tick++) {
      await sleep(1)
      const held = this.takeLocal(permits, defer)
      if (held !== undefined) return held
    }
    return this.takeLocal(permits, defer)
  }

  /** A permit of `key` went back to its object (`forget`): a standing refusal no longer holds. */
  freed(key: string): void {
    const permits = this.identities.get(key)
    if (permits !== undefined) permits.refusal = undefined
  }

  /** Permits held and not yet used, over every identity (what other isolates may miss). */
  outstanding(): number {
    let held = 0
    for (const permits of this.identities.values()) held += permits.held()
    return held
  }

  /** `sweep`, at most once per SWEEP_INTERVAL_MS: cheap enough for every request. */
  sweepIfDue(defer?: (work: Promise<unknown>) => void): void {
    if (this.clock() >= this.nextSweepAt) this.sweep(defer)
  }

  /**
   * Ends expired leases and reports unused permits of identities that have no request to carry
   * them; the reports are handed to `defer` (waitUntil), each within the identity's deadline.
   */
  sweep(defer: (work: Promise<unknown>) => void = (work) => void work): void {
    const now = this.clock()
    this.nextSweepAt = now + SWEEP_INTERVAL_MS
    for (const [key, permits] of this.identities) {
      permits.expire(now)
      if (permits.asking === 0 && !permits.prefetching) this.report(permits, defer)
      if (permits.idle(now)) this.identities.delete(key)
    }
  }

  private report(permits: IdentityPermits, defer: (work: Promise<unknown>) => void): void {
    const returns = permits.returns.filter((r) => r.unused > 0)
    // Fully used leases need no report: the object counts their permits as used anyway.
    permits.returns = []
    if (returns.length === 0) return
    defer(
      withDeadline(
        permits.source.release(returns),
        permits.policy.timeoutMs,
        'rate limiter release'
      ).catch(() => undefined)
    )
  }

  /** Drops the least recently used identities that wait for nothing (their unused permits reported). */
  private evict(): void {
    this.sweep()
    for (const [key, permits] of this.identities) {
      if (this.identities.size < this.maxIdentities) return
      if (permits.asking > 0 || permits.prefetching) continue
      for (const lease of permits.leases) permits.retire(lease)
      this.report(permits, (work) => void work)
      this.identities.delete(key)
    }
  }

  /**
   * Holds an answer's leased permits; returns when its window frees a slot. Times are from the
   * isolate's clock when it asked: no later than the object's, so a lease ends here no later than
   * there, and a refusal is not held past the slot it waits for.
   */
  private deposit(permits: IdentityPermits, answer: LeaseAnswer, sentAt: number): number {
    const resetAt = sentAt + answer.resetMs
    const rtt = Math.max(0, this.clock() - sentAt)
    permits.rttMs = permits.rttMs === 0 ? rtt : 0.8 * permits.rttMs + 0.2 * rtt
    permits.leaseMs = answer.leaseMs
    if (answer.held > 0) {
      permits.leases.push({
        id: answer.id,
        left: answer.held,
        expiresAt: sentAt + answer.leaseMs,
        stamp: answer.at + answer.leaseMs,
        remaining: answer.remaining,
        resetAt,
      })
    }
    return resetAt
  }

  /**
   * When few permits are left (`renewalPoint`) and nothing is on its way, asks for the next lease
   * in the background (`defer`): no request waits on it (workerd forbids waiting on another request's
   * I/O); requests that find permits when it lands use them. One renewal at a time, started only
   * with half a lease or less held, sized by recent demand (`renewalSize`): it adds at most
   * 8 × `leaseSize` to what an isolate holds unused per identity, and for a steady client about
   * what it uses in one lease's time (the most other isolates can be refused wrongly). The object
   * grants at most half of what is free. Exactness is unchanged (held permits count as used).
   */
  private prefetch(permits: IdentityPermits, defer: (work: Promise<unknown>) => void): void {
    const { leaseSize, timeoutMs } = permits.policy
    if (leaseSize < 2 || permits.prefetching || permits.asking > 0) return
    if (permits.held() > renewalPoint(permits, leaseSize)) return
    permits.prefetching = true
    const returns = permits.returns.splice(0)
    const sentAt = this.clock()
    const hold = renewalSize(permits, leaseSize, sentAt)
    const asked = Promise.resolve().then(() => permits.source.lease({ take: 0, hold, returns }))
    defer(
      withDeadline(asked, timeoutMs, 'rate limiter prefetch')
        .then(
          (answer) => {
            const resetAt = this.deposit(permits, answer, sentAt)
            if (answer.held === 0 && answer.remaining === 0 && answer.reclaimable === 0) {
              permits.refusal = { until: resetAt }
            }
          },
          () => {
            // As for a request's own call: returns go again, a late grant's permits go back.
            permits.returns.unshift(...returns)
            asked.then(
              (late) => late.held > 0 && permits.returns.push({ id: late.id, unused: late.held }),
              () => undefined
            )
          }
        )
        .finally(() => {
          permits.prefetching = false
        })
    )
  }

  /** This request's own call to the object: its permit, and up to `leaseSize - 1` to hold. */
  private async ask(permits: IdentityPermits): Promise<PermitResult> {
    const returns = permits.returns.splice(0)
    const { leaseSize, timeoutMs, limit } = permits.policy
    const sentAt = this.clock()
    const asked = Promise.resolve().then(() =>
      permits.source.lease({ take: 1, hold: Math.max(0, leaseSize - 1), returns })
    )
    let answer: LeaseAnswer
    try {
      answer = await withDeadline(asked, timeoutMs, 'rate limiter lease')
    } catch (error) {
      // Returns are idempotent: send them again. A late grant's held permits go back unused.
      permits.returns.unshift(...returns)
      asked.then(
        (late) => late.held > 0 && permits.returns.push({ id: late.id, unused: late.held }),
        () => undefined
      )
      return { unavailable: String(error) }
    }
    const resetAt = this.deposit(permits, answer, sentAt)
    const now = this.clock()
    if (answer.taken > 0) {
      const remaining = answer.remaining + permits.held()
      const resetMs = Math.max(0, resetAt - now)
      return { decision: { allowed: true, limit, remaining, resetMs }, stamp: answer.at }
    }
    // Refused: permits granted to this isolate's other requests meanwhile may be here by now, or
    // after their answers, which the object sent before this one, have been delivered.
    let held = permits.local(now)
    if (held === undefined && answer.reclaimable > 0) {
      await sleep(0)
      held = permits.local(this.clock())
    }
    if (held !== undefined && held.decision.allowed) return held
    if (answer.remaining === 0 && answer.reclaimable === 0) permits.refusal = { until: resetAt }
    return {
      decision: { allowed: false, limit, remaining: 0, resetMs: Math.max(0, resetAt - now) },
    }
  }
}
