import type { CacheControl } from './cache-control'
import { parseFieldNames } from './headers'

/**
 * RFC 9111 §3.5 on a route with `authorization = "rfc9111"`. Answers to requests with Authorization
 * live in their own partition of the key: every entry of such a route varies on whether the request
 * was authorised, never on the credential itself (the variant key holds this marker, not the value),
 * so an anonymous client never gets a copy made for an authorised one and an authorised client never
 * gets an anonymous one (the origin may well answer them differently).
 */
export type AuthorizationPolicy = 'bypass' | 'rfc9111'

/** The partition's value in a variant key; a client's own header value never reaches a key. */
const AUTHORIZED = 'authorized'

/**
 * The request headers variant selection reads: on an `rfc9111` route, Authorization is replaced by
 * the partition marker (a copy only when the request has one; otherwise the same object).
 */
export function variantSelectors(headers: Headers, policy: AuthorizationPolicy): Headers {
  if (policy !== 'rfc9111' || !headers.has('authorization')) return headers
  const selecting = new Headers(headers)
  selecting.set('authorization', AUTHORIZED)
  return selecting
}

/**
 * §3.5: a response to an authorised request may be stored, and reused for other credentials, only
 * with `public`, `s-maxage` or `must-revalidate`; one that varies on Authorization is per-identity
 * by the origin's own word, and is not shared (it would otherwise need the credential in the key).
 */
export function shareableAcrossCredentials(cc: CacheControl, responseHeaders: Headers): boolean {
  if (!cc.public && cc.sMaxAge === undefined && !cc.mustRevalidate) return false
  return !parseFieldNames(responseHeaders.get('vary')).includes('authorization')
}

/**
 * The credential as the Coalescer's fill key holds it: a SHA-256 digest, so requests with different
 * credentials never share a fetch (the origin would see different requests) while the raw value is
 * in no key.
 */
export async function credentialDigest(value: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(value))
  let hex = ''
  for (const byte of new Uint8Array(digest)) hex += byte.toString(16).padStart(2, '0')
  return hex
}
