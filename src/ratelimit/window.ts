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
