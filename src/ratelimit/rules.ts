import { compilePattern } from '../config/route-matcher'
import type { RateLimitRule } from '../config/schema'

export interface CompiledRateLimitRule extends RateLimitRule {
  readonly matcher: RegExp
  readonly methodSet: ReadonlySet<string> | undefined
  readonly windowMs: number
}

export function compileRateLimitRules(rules: readonly RateLimitRule[]): CompiledRateLimitRule[] {
  return rules.map((rule) => ({
    ...rule,
    matcher: compilePattern(rule.pattern),
    methodSet: rule.methods ? new Set(rule.methods) : undefined,
    windowMs: rule.windowSeconds * 1000,
  }))
}

export function matchingRules(
  rules: readonly CompiledRateLimitRule[],
  method: string,
  path: string
): CompiledRateLimitRule[] {
  return rules.filter(
    (rule) =>
      (rule.methodSet === undefined || rule.methodSet.has(method)) && rule.matcher.test(path)
  )
}

const encoder = new TextEncoder()

/**
 * The Durable Object name for a rule and a request's identity: `rule:sha256(parts)`. Hashing bounds
 * the name whatever the client sends (a huge or empty header is just another identity); an absent
 * part counts as empty, so clients without an API key share one bucket.
 */
export async function identityName(rule: CompiledRateLimitRule, headers: Headers): Promise<string> {
  const parts: string[] = []
  if (rule.identity.ip) parts.push(`ip=${headers.get('cf-connecting-ip') ?? ''}`)
  for (const name of rule.identity.headers) parts.push(`${name}=${headers.get(name) ?? ''}`)
  const digest = await crypto.subtle.digest('SHA-256', encoder.encode(parts.join('\n')))
  const hex = [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, '0')).join('')
  return `${rule.name}:${hex}`
}
