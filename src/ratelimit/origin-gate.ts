import type { LeaseBook } from './lease-book'
import type { MetricsAccumulator } from '../metrics/accumulator'
import { refusal } from './headers'
import { checkRules, forgetPermit, type LimiterNamespace, type RuleOutcome } from './limiter-client'
import type { CompiledRateLimitRule } from './rules'

/**
 * Miss-rate limits (`counts = "origin"`) for one request: asked only where the request may reach the
 * origin (a miss, a revalidation, a pass-through), never by a hit. It decides once: a request that
 * goes to the origin twice (a too-large fill, then the client's Range) counts once.
 */
export interface OriginGate {
  /** Undefined: go on to the origin. Else the answer instead of it: 429, or 503 (fail closed). */
  admit(): Promise<Response | undefined>
  /**
   * The admitted request was answered without its own origin fetch (a coalesced follower): its
   * permits go back to their objects, in the background.
   */
  release(): void
  /** The rules' outcomes once asked, for the RateLimit fields; empty before. */
  readonly outcomes: readonly RuleOutcome[]
}

/**
 * The gate of a request that `rules` (its miss-rate rules, already matched) count. The permits come
 * from the same leases and RateLimiter objects as the other rules', so the exactness is theirs: at
 * most `limit` requests per identity reach the origin in any window.
 */
export function originGate(
  rules: readonly CompiledRateLimitRule[],
  headers: Headers,
  namespace: LimiterNamespace | undefined,
  book: LeaseBook,
  metrics: MetricsAccumulator,
  defer: (work: Promise<unknown>) => void
): OriginGate {
  let outcomes: readonly RuleOutcome[] = []
  // This request's own promise, awaited only by its own work (never another request's).
  let decided: Promise<Response | undefined> | undefined
  let released = false
  return {
    get outcomes() {
      return outcomes
    },
    admit() {
      decided ??= checkRules(rules, headers, namespace, book, metrics, defer).then((checked) => {
        outcomes = checked
        return refusal(checked)
      })
      return decided
    },
    release() {
      if (released || namespace === undefined) return
      released = true
      for (const outcome of outcomes) {
        if (!('decision' in outcome) || !outcome.decision.allowed) continue
        const { rule, identity, stamp } = outcome
        if (identity === undefined || stamp === undefined) continue
        defer(
          forgetPermit(namespace, identity, rule, stamp, metrics).then((freed) => {
            if (freed) book.freed(identity)
          })
        )
      }
    },
  }
}
