import { errorResponse } from '../http/error-response'
import { log } from '../lib/log'
import type { RuleOutcome } from './limiter-client'

const seconds = (ms: number) => Math.max(0, Math.ceil(ms / 1000))

/**
 * IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers): `RateLimit-Policy` names each
 * rule's quota and window, `RateLimit` what is left and when the window frees up a slot.
 */
export function rateLimitHeaders(outcomes: readonly RuleOutcome[]): Record<string, string> {
  const decided = outcomes.filter((o) => 'decision' in o)
  if (decided.length === 0) return {}
  return {
    'ratelimit-policy': decided
      .map((o) => `"${o.rule.name}";q=${o.rule.limit};w=${o.rule.windowSeconds}`)
      .join(', '),
    ratelimit: decided
      .map((o) => `"${o.rule.name}";r=${o.decision.remaining};t=${seconds(o.decision.resetMs)}`)
      .join(', '),
  }
}

/** 429 for the rule that refused, with Retry-After (at least 1 s) and the RateLimit fields. */
export function tooManyRequests(
  refused: Extract<RuleOutcome, { decision: unknown }>,
  outcomes: readonly RuleOutcome[]
): Response {
  const retryAfter = Math.max(1, seconds(refused.decision.resetMs))
  const response = errorResponse(
    429,
    'rate_limited',
    `Too many requests: rule "${refused.rule.name}" allows ${refused.rule.limit} per ${refused.rule.windowSeconds} s. Retry in ${retryAfter} s.`,
    { 'retry-after': String(retryAfter), ...rateLimitHeaders(outcomes) }
  )
  return response
}

/** 503 when a fail-closed rule's limiter could not answer in time. */
export function limiterUnavailable(rule: string): Response {
  return errorResponse(
    503,
    'rate_limiter_unavailable',
    `The rate limiter for rule "${rule}" is unavailable and the rule fails closed.`,
    { 'retry-after': '1' }
  )
}

/**
 * The answer for a request some rule refused: 503 when a fail-closed rule's limiter could not answer,
 * else 429 for the first rule with no slot left (every outcome's fields on it); undefined: admitted.
 */
export function refusal(outcomes: readonly RuleOutcome[]): Response | undefined {
  for (const outcome of outcomes) {
    if ('unavailable' in outcome) {
      log.warn('rate_limiter_unavailable', {
        rule: outcome.rule.name,
        failMode: outcome.rule.failMode,
        error: outcome.unavailable,
      })
      if (outcome.rule.failMode === 'closed') return limiterUnavailable(outcome.rule.name)
    } else if (!outcome.decision.allowed) {
      return tooManyRequests(outcome, outcomes)
    }
  }
  return undefined
}
