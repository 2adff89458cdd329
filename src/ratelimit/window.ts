/** What the RateLimiter Durable Object is asked and answers: the feature's types, shared with it. */

/** One sliding window: at most `limit` admissions per `windowMs`. */
export interface WindowRule {
  readonly limit: number
  readonly windowMs: number
}

export interface LimitDecision {
  readonly allowed: boolean
  readonly limit: number
  /** Requests still admitted in the current window after this one. */
  readonly remaining: number
  /** Milliseconds until the oldest admitted request leaves the window (a slot frees up). */
  readonly resetMs: number
}

/** Longest a lease lasts, whatever the window: held permits come back (or count as used) soon. */
export const LEASE_MAX_MS = 10_000

/**
 * How long an isolate may use the permits of a lease: a tenth of the window, at most LEASE_MAX_MS.
 * Held permits count in the window from the grant until this long plus a window after it, so an
 * admission at any instant of the lease is covered for a full window after it.
 */
export function leaseMs(windowMs: number): number {
  return Math.max(1, Math.min(LEASE_MAX_MS, Math.floor(windowMs / 10)))
}

/** Permits of a finished lease (exhausted or expired) that were not used: the object drops them. */
export interface LeaseReturn {
  readonly id: string
  readonly unused: number
}

export interface LeaseRequest {
  /** Permits for the requests waiting now: counted at the grant, like one `hit` each. */
  readonly take: number
  /** Permits to hold for requests to come, usable for `leaseMs` after the grant. */
  readonly hold: number
  /** Finished leases of this identity, piggy-backed. */
  readonly returns: readonly LeaseReturn[]
}

export interface LeaseAnswer {
  /** How many of `take` were granted (the rest are refused). */
  readonly taken: number
  /** Permits held, usable until `leaseMs` after the request was sent; 0: no lease. */
  readonly held: number
  /** The lease's id for its return; '' without held permits. */
  readonly id: string
  readonly leaseMs: number
  /**
   * The object's clock at the grant: the stamp of the permits taken; held permits are stamped
   * `leaseMs` later. What `forget` needs to give one back.
   */
  readonly at: number
  /** Free slots in the window after this grant (every permit leased out counts as used). */
  readonly remaining: number
  /** Milliseconds until the oldest counted permit leaves the window. */
  readonly resetMs: number
  /**
   * Permits other leases hold and may still return. 0 with `remaining` 0: nothing can free a slot
   * before `resetMs`, so a refusal holds until then.
   */
  readonly reclaimable: number
}
