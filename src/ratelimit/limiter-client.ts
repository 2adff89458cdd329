import type { RateLimiter } from '../../durable-objects/rate-limiter'
import { withDeadline } from '../lib/with-deadline'
import type { MetricsAccumulator } from '../metrics/accumulator'
import type { LimitDecision, WindowRule } from './window'
import type { LeaseBook, PermitSource } from './lease-book'
import { identityName, knownIdentityName, type CompiledRateLimitRule } from './rules'

export type RuleOutcome =
  | {
      readonly rule: CompiledRateLimitRule
      readonly decision: LimitDecision
      /** The identity's object name, and the permit's stamp in its log (see `forgetPermit`). */
      readonly identity?: string
      readonly stamp?: number
    }
  | { readonly rule: CompiledRateLimitRule; readonly unavailable: string }

/** The part of a Durable Object namespace the client uses (a chaos wrapper in tests fits it too). */
export interface LimiterNamespace {
  idFromName(name: string): DurableObjectId
  get(
    id: DurableObjectId
  ): Pick<DurableObjectStub<RateLimiter>, 'lease' | 'release'> &
    Partial<Pick<DurableObjectStub<RateLimiter>, 'forget'>>
}

/** The RateLimiter object `name` as a lease book's source of permits for `rule`; calls counted. */
export function permitSource(
  namespace: LimiterNamespace,
  name: string,
  rule: WindowRule,
  metrics: MetricsAccumulator
): PermitSource {
  const window = { limit: rule.limit, windowMs: rule.windowMs }
  const stub = () => {
    metrics.increment('do_requests_total', { class: 'RateLimiter' })
    return namespace.get(namespace.idFromName(name))
  }
  return {
    lease: async (request) => stub().lease(window, request),
    release: async (returns) => stub().release(window, returns),
  }
}

/**
 * Each rule's permit for this request, in parallel: from the isolate's lease when it holds one, else
 * from the rule's limiter within the rule's deadline. Never throws.
 */
export async function checkRules(
  rules: readonly CompiledRateLimitRule[],
  headers: Headers,
  namespace: LimiterNamespace | undefined,
  book: LeaseBook,
  metrics: MetricsAccumulator,
  /** The request's waitUntil: leases running low are renewed in the background. */
  defer?: (work: Promise<unknown>) => void
): Promise<RuleOutcome[]> {
  return Promise.all(
    rules.map(async (rule): Promise<RuleOutcome> => {
      if (namespace === undefined) return { rule, unavailable: 'RATE_LIMITER binding missing' }
      try {
        const name = await identityName(rule, headers)
        const result = await book.acquire(
          name,
          permitSource(namespace, name, rule, metrics),
          rule,
          defer
        )
        return { rule, identity: name, ...result }
      } catch (error) {
        return { rule, unavailable: String(error) }
      }
    })
  )
}

/**
 * checkRules for a request that meets one rule this isolate can decide at once (its identity
 * already named, a permit held or a refusal standing): no promise, no await. Undefined: use
 * checkRules. With several rules it always is: a permit taken here for one rule would be taken
 * again there if another rule had to ask its object.
 */
export function checkRulesNow(
  rules: readonly CompiledRateLimitRule[],
  headers: Headers,
  book: LeaseBook,
  defer?: (work: Promise<unknown>) => void
): RuleOutcome[] | undefined {
  if (rules.length !== 1) return undefined
  const rule = rules[0]!
  const name = knownIdentityName(rule, headers)
  if (name === undefined) return undefined
  const result = book.tryLocal(name, rule, defer)
  return result && [{ rule, identity: name, ...result }]
}

/**
 * Gives an admitted permit back to its object (a request it turned out not to count), within the
 * rule's deadline. Resolves false when it could not (a namespace without `forget`, a failure): the
 * permit then counts, the safe side.
 */
export async function forgetPermit(
  namespace: LimiterNamespace,
  name: string,
  rule: WindowRule & { readonly timeoutMs: number },
  stamp: number,
  metrics: MetricsAccumulator
): Promise<boolean> {
  const stub = namespace.get(namespace.idFromName(name))
  if (stub.forget === undefined) return false
  metrics.increment('do_requests_total', { class: 'RateLimiter' })
  const window = { limit: rule.limit, windowMs: rule.windowMs }
  try {
    await withDeadline(stub.forget(window, [stamp]), rule.timeoutMs, 'rate limiter forget')
    return true
  } catch {
    return false
  }
}
