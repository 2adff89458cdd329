import type { Context } from 'hono'
import type { RateLimiter } from '../../durable-objects/rate-limiter'
import type { LimitDecision, WindowRule } from '../ratelimit/window'
import type { AppEnv } from '../app-env'
import { errorResponse } from '../http/error-response'
import { log } from '../lib/log'
import { withDeadline } from '../lib/with-deadline'
import { clientAddress } from '../ratelimit/client-ip'

/** The part of the RATE_LIMITER namespace the budget uses (a chaos wrapper in tests fits it too). */
export interface AuthLimiterNamespace {
  idFromName(name: string): DurableObjectId
  get(id: DurableObjectId): Pick<DurableObjectStub<RateLimiter>, 'hit' | 'refund'>
}

/**
 * Failed token checks of one client, counted in its own RateLimiter object. Every check takes a
 * slot before the token is looked at and a success gives it back, so a burst of concurrent guesses
 * is cut at the budget too (a check-then-count would let the whole burst through).
 */
export interface AuthFailureBudget {
  /**
   * Takes a slot for this check: a 429 when the client has none left; undefined otherwise, or when
   * the limiter cannot say (fail open: the token still guards everything).
   */
  refusal(): Promise<Response | undefined>
  /** The token was right: the slot goes back. Never throws. */
  recordSuccess(): Promise<void>
}

/** One host usually holds a whole IPv6 /64: count its failures together. */
const IPV6_PREFIX = 64

/**
 * The RateLimiter name of a client's failures. Rule names start with a letter, so no rule's objects
 * (`<rule>:...`) can share one with these.
 */
export function authFailureName(headers: Headers): string {
  return `_admin-auth:${clientAddress(headers.get('cf-connecting-ip'), IPV6_PREFIX)}`
}

/**
 * The budget of `admin.authFailures` for this request's client. The check before a token is looked at
 * and the count after a failure each have a deadline; a missing, failing or slow limiter is logged
 * and skipped, so it can never lock the admins out (the tokens still guard everything).
 */
export function authFailureBudget(c: Context<AppEnv>): AuthFailureBudget {
  const { limit, windowSeconds, timeoutMs } = c.get('proxy').config.admin.authFailures
  const rule: WindowRule = { limit, windowMs: windowSeconds * 1000 }
  const namespace: AuthLimiterNamespace | undefined = c.env.RATE_LIMITER
  const name = authFailureName(c.req.raw.headers)

  async function ask(method: 'hit' | 'refund'): Promise<LimitDecision | undefined> {
    try {
      if (namespace === undefined) throw new Error('RATE_LIMITER binding missing')
      const stub = namespace.get(namespace.idFromName(name))
      return await withDeadline(
        Promise.resolve(method === 'hit' ? stub.hit(rule) : stub.refund(rule)),
        timeoutMs,
        `admin auth limiter ${method}`
      )
    } catch (error) {
      log.warn('admin_auth_limiter_unavailable', { method, error })
      return undefined
    }
  }

  return {
    async refusal() {
      const decision = await ask('hit')
      if (decision === undefined || decision.allowed) return undefined
      const retryAfter = Math.max(1, Math.ceil(decision.resetMs / 1000))
      return errorResponse(
        429,
        'too_many_auth_failures',
        `Too many failed token checks from this address (${limit} per ${windowSeconds} s). Retry in ${retryAfter} s.`,
        { 'retry-after': String(retryAfter) }
      )
    },
    async recordSuccess() {
      await ask('refund')
    },
  }
}
