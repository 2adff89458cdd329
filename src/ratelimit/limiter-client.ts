import type { RateLimiter } from '../../durable-objects/rate-limiter'
import type { LimitDecision } from './window'
import { withDeadline } from '../lib/with-deadline'
import { identityName, type CompiledRateLimitRule } from './rules'

export type RuleOutcome =
  | { readonly rule: CompiledRateLimitRule; readonly decision: LimitDecision }
  | { readonly rule: CompiledRateLimitRule; readonly unavailable: string }

/** The part of a Durable Object namespace the client uses (a chaos wrapper in tests fits it too). */
export interface LimiterNamespace {
  idFromName(name: string): DurableObjectId
  get(id: DurableObjectId): { hit: DurableObjectStub<RateLimiter>['hit'] }
}

/** Asks each rule's limiter, in parallel, each within its own deadline. Never throws. */
export async function checkRules(
  rules: readonly CompiledRateLimitRule[],
  headers: Headers,
  namespace: LimiterNamespace | undefined
): Promise<RuleOutcome[]> {
  return Promise.all(
    rules.map(async (rule): Promise<RuleOutcome> => {
      if (namespace === undefined) return { rule, unavailable: 'RATE_LIMITER binding missing' }
      try {
        const stub = namespace.get(namespace.idFromName(await identityName(rule, headers)))
        const decision = await withDeadline(
          Promise.resolve(stub.hit({ limit: rule.limit, windowMs: rule.windowMs })),
          rule.timeoutMs,
          `rate limiter ${rule.name}`
        )
        return { rule, decision }
      } catch (error) {
        return { rule, unavailable: String(error) }
      }
    })
  )
}
