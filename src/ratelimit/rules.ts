import { compilePattern } from '../config/route-matcher'
import type { RateLimitRule } from '../config/schema'
import { BoundedMemo } from '../lib/bounded-memo'
import { clientAddress } from './client-ip'

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

/** A HEAD is answered from the GET entry (RFC 9110 §9.3.2), so a rule on GET counts it too. */
function countsMethod(methods: ReadonlySet<string> | undefined, method: string): boolean {
  return methods === undefined || methods.has(method) || (method === 'HEAD' && methods.has('GET'))
}

/** The rules that count a request; with several spellings of its path, a rule counts if any matches. */
export function matchingRules(
  rules: readonly CompiledRateLimitRule[],
  method: string,
  paths: string | readonly string[]
): CompiledRateLimitRule[] {
  const spellings = typeof paths === 'string' ? [paths] : paths
  return rules.filter(
    (rule) =>
      countsMethod(rule.methodSet, method) && spellings.some((path) => rule.matcher.test(path))
  )
}

const encoder = new TextEncoder()

/**
 * The Durable Object name for a rule and a request's identity. The IP is the client's address, IPv6
 * masked to `identity.ipv6Prefix`. On `ip` alone: `rule:sha256(parts)`, one object per address
 * (bounded by the address space). With headers, whose values the client picks: `rule:h<bucket>`, the
 * digest reduced to one of `identity.buckets`, so the number of objects is bounded whatever is sent
 * (colliding identities share a limit: stricter, never looser). An absent part counts as empty, so
 * clients without an API key share one identity.
 */
export async function identityName(rule: CompiledRateLimitRule, headers: Headers): Promise<string> {
  const text = identityText(rule, headers)
  const names = namesOf(rule)
  return names.get(text) ?? names.remember(text, await digestName(rule, text))
}

/** identityName when this isolate already worked it out (no digest to wait for); else undefined. */
export function knownIdentityName(
  rule: CompiledRateLimitRule,
  headers: Headers
): string | undefined {
  return namesOf(rule).get(identityText(rule, headers))
}

function identityText(rule: CompiledRateLimitRule, headers: Headers): string {
  const { identity } = rule
  const parts: string[] = []
  if (identity.ip) {
    parts.push(`ip=${clientAddress(headers.get('cf-connecting-ip'), identity.ipv6Prefix)}`)
  }
  for (const name of identity.headers) parts.push(`${name}=${headers.get(name) ?? ''}`)
  return parts.join('\n')
}

function namesOf(rule: CompiledRateLimitRule): BoundedMemo<string> {
  let names = knownNames.get(rule)
  if (names === undefined) knownNames.set(rule, (names = new BoundedMemo(4096, 1024)))
  return names
}

/**
 * Object names already worked out, per rule, by identity text: a busy client's requests skip the
 * digest (a hot identity's permits are local; hashing was what each still paid). 4096 identities
 * of texts up to 1 KiB; header values are client-chosen.
 */
const knownNames = new WeakMap<CompiledRateLimitRule, BoundedMemo<string>>()

async function digestName(rule: CompiledRateLimitRule, text: string): Promise<string> {
  const { identity } = rule
  const digest = await crypto.subtle.digest('SHA-256', encoder.encode(text))
  if (identity.headers.length > 0) {
    // 32 bits of the digest modulo at most 2^20 buckets: the bias is below 2^-12.
    const bucket = new DataView(digest).getUint32(0) % identity.buckets
    return `${rule.name}:h${bucket}`
  }
  const hex = [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, '0')).join('')
  return `${rule.name}:${hex}`
}
