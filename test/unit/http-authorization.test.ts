import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { variantKey } from '../../src/cache/cache-key'
import { routeSchema } from '../../src/config/schema'
import {
  credentialDigest,
  shareableAcrossCredentials,
  variantSelectors,
  type AuthorizationPolicy,
} from '../../src/http/authorization'
import { parseCacheControl } from '../../src/http/cache-control'
import { checkStorable } from '../../src/http/storability'

function storable(
  response: Record<string, string>,
  authorization: AuthorizationPolicy,
  request: Record<string, string> = { authorization: 'Bearer alice' }
) {
  const responseHeaders = new Headers(response)
  return checkStorable({
    requestHeaders: new Headers(request),
    requestCacheControl: parseCacheControl(null),
    status: 200,
    responseHeaders,
    cacheControl: parseCacheControl(responseHeaders.get('cache-control')),
    ttlOverride: false,
    keyHeaders: [],
    authorization,
  })
}

describe('RFC 9111 §3.5: answers to authorised requests', () => {
  it('bypass (the default policy) never stores them, whatever the response says', () => {
    for (const cc of ['public, max-age=60', 's-maxage=60', 'must-revalidate, max-age=60']) {
      expect(storable({ 'cache-control': cc }, 'bypass')).toEqual({
        storable: false,
        reason: 'authorization',
      })
    }
  })

  it.each(['public, max-age=60', 's-maxage=60', 'must-revalidate, max-age=60'])(
    'rfc9111 stores %s',
    (cc) => {
      expect(storable({ 'cache-control': cc }, 'rfc9111')).toEqual({ storable: true })
    }
  )

  it.each([
    ['max-age=60', 'authorization'],
    ['private, public, max-age=60', 'private'],
    ['public, no-store, max-age=60', 'no-store'],
    ['proxy-revalidate, max-age=60', 'authorization'],
  ])('rfc9111 does not store %s', (cc, reason) => {
    expect(storable({ 'cache-control': cc }, 'rfc9111')).toEqual({ storable: false, reason })
  })

  it('rfc9111 does not share an answer that varies on Authorization (per-identity by its own word)', () => {
    const response = { 'cache-control': 'public, max-age=60', vary: 'Accept, Authorization' }
    expect(storable(response, 'rfc9111')).toEqual({ storable: false, reason: 'authorization' })
    expect(storable(response, 'rfc9111', {})).toEqual({ storable: true })
  })

  it('anonymous requests are unaffected by the policy', () => {
    expect(storable({ 'cache-control': 'max-age=60' }, 'rfc9111', {})).toEqual({ storable: true })
  })

  it('shareableAcrossCredentials', () => {
    const share = (cc: string, vary?: string) =>
      shareableAcrossCredentials(
        parseCacheControl(cc),
        new Headers(vary ? { vary, 'cache-control': cc } : { 'cache-control': cc })
      )
    expect(share('public')).toBe(true)
    expect(share('s-maxage=0')).toBe(true)
    expect(share('must-revalidate')).toBe(true)
    expect(share('max-age=60')).toBe(false)
    expect(share('public', 'authorization')).toBe(false)
  })
})

describe('the authorised partition of the key', () => {
  const key = (headers: Record<string, string>, policy: AuthorizationPolicy) =>
    variantKey('/p', ['authorization'], variantSelectors(new Headers(headers), policy))

  it('holds whether the request was authorised, never the credential', () => {
    const alice = key({ authorization: 'Bearer alice-secret' }, 'rfc9111')
    const bob = key({ authorization: 'Basic Ym9iOnB3' }, 'rfc9111')
    const anonymous = key({}, 'rfc9111')
    expect(alice).toBe(bob)
    expect(alice).not.toBe(anonymous)
    expect(alice).not.toContain('alice-secret')
  })

  it('leaves the request as it is without Authorization or on other routes', () => {
    const headers = new Headers({ accept: 'x' })
    expect(variantSelectors(headers, 'rfc9111')).toBe(headers)
    const authorised = new Headers({ authorization: 'Bearer a' })
    expect(variantSelectors(authorised, 'bypass')).toBe(authorised)
    // The caller's headers are never changed (the origin still gets the credential).
    variantSelectors(authorised, 'rfc9111')
    expect(authorised.get('authorization')).toBe('Bearer a')
  })

  it('fast-check: no credential ever reaches a key, and no credential selects the anonymous partition', () => {
    const anonymous = key({}, 'rfc9111')
    fc.assert(
      fc.property(
        fc
          .string({ minLength: 1, maxLength: 60 })
          .filter((s) => /^[\x21-\x7e][\x20-\x7e]*$/.test(s)),
        (credential) => {
          const k = key({ authorization: credential }, 'rfc9111')
          expect(k).toBe('/p\nauthorization:authorized')
          expect(k).not.toBe(anonymous)
        }
      )
    )
  })

  it('credentialDigest: a stable hex SHA-256 that differs per credential', async () => {
    const a = await credentialDigest('Bearer alice')
    expect(a).toMatch(/^[0-9a-f]{64}$/)
    expect(await credentialDigest('Bearer alice')).toBe(a)
    expect(await credentialDigest('Bearer bob')).not.toBe(a)
    expect(a).not.toContain('alice')
  })
})

describe('route options', () => {
  it('default to bypass and ignored request directives', () => {
    const route = routeSchema.parse({ pattern: '/a' })
    expect(route.authorization).toBe('bypass')
    expect(route.requestDirectives).toBe(false)
  })

  it('refuse rfc9111 together with a key on authorization (shared vs per-credential copies)', () => {
    const parsed = routeSchema.safeParse({
      pattern: '/a',
      authorization: 'rfc9111',
      key: { headers: ['Authorization'] },
    })
    expect(parsed.success).toBe(false)
    expect(parsed.error?.issues[0]?.path).toEqual(['authorization'])
    expect(routeSchema.safeParse({ pattern: '/a', authorization: 'other' }).success).toBe(false)
  })
})
