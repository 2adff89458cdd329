import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { primaryKey } from '../../src/cache/cache-key'
import { compileRoutes, matchRoute } from '../../src/config/route-matcher'
import { rateLimitRuleSchema, routeSchema } from '../../src/config/schema'
import { requestPath } from '../../src/http/request-path'
import { compileRateLimitRules, matchingRules } from '../../src/ratelimit/rules'

const ROUTES = compileRoutes(
  [
    { pattern: '/account/**', bypass: true },
    { pattern: '/products/**', tags: ['catalogue'] },
    { pattern: '/search' },
    { pattern: '/**' },
  ].map((route) => routeSchema.parse(route))
)

const RULES = compileRateLimitRules([
  rateLimitRuleSchema.parse({
    name: 'search',
    pattern: '/search',
    limit: 1,
    windowSeconds: 60,
    identity: { ip: true },
  }),
])

/** The path as the Worker sees it: through the URL parser, then normalised. */
function seen(spelling: string): ReturnType<typeof requestPath> {
  return requestPath(new URL(`https://cache.test${spelling}`).pathname)
}

const UNRESERVED = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~'

/** One segment of unreserved characters (no dot segments). */
const segment = fc
  .array(fc.constantFrom(...UNRESERVED), { minLength: 1, maxLength: 8 })
  .map((chars) => chars.join(''))
  .filter((s) => s !== '.' && s !== '..')
const plainPath = fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => `/${s.join('/')}`)

/** Percent-encodes some characters, in upper or lower case hex. */
function respell(path: string, picks: boolean[], lower: boolean[]): string {
  let out = ''
  for (let i = 0; i < path.length; i++) {
    const ch = path[i]!
    if (ch !== '/' && picks[i % picks.length]) {
      const hex = ch.charCodeAt(0).toString(16).padStart(2, '0')
      out += `%${lower[i % lower.length] ? hex.toLowerCase() : hex.toUpperCase()}`
    } else out += ch
  }
  return out
}

describe('requestPath', () => {
  it('gives the same frozen answer for a path seen before, whatever came in between', () => {
    const spelling = fc.oneof(
      plainPath,
      fc.string({ maxLength: 40 }).map((tail) => new URL(`https://cache.test/${tail}`).pathname)
    )
    fc.assert(
      fc.property(spelling, fc.array(spelling, { maxLength: 30 }), (path, between) => {
        const first = requestPath(path)
        const spellings = [...first.ruleSpellings]
        for (const other of between) void requestPath(other).ruleSpellings
        const again = requestPath(path)
        expect(again.path).toBe(first.path)
        expect(again.ambiguous).toBe(first.ambiguous)
        expect([...again.ruleSpellings]).toEqual(spellings)
        expect(Object.isFrozen(again)).toBe(true)
        expect(Object.isFrozen(again.ruleSpellings)).toBe(true)
      })
    )
  })

  it('a flood of distinct paths (a client filling the memo) leaves every answer right', () => {
    const hot = seen('/products/%7e1')
    for (let i = 0; i < 5000; i++) void seen(`/products/${i};x=%2F${i}`).ruleSpellings
    const again = seen('/products/%7e1')
    expect(again.path).toBe('/products/~1')
    expect([...again.ruleSpellings]).toEqual([...hot.ruleSpellings])
    const flooded = seen('/products/4999;x=%2F4999')
    expect(flooded.ambiguous).toBe(true)
    expect([...flooded.ruleSpellings]).toEqual(['/products/4999;x=%2F4999', '/products/4999/4999'])
  })

  it('works out a path too long to remember each time, the same way', () => {
    const long = `/products/${'x'.repeat(600)}/%7e`
    expect(requestPath(long)).not.toBe(requestPath(long))
    expect(requestPath(long).path).toBe(`/products/${'x'.repeat(600)}/~`)
  })

  it('is idempotent', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (raw) => {
        const once = seen(`/${raw}`).path
        expect(seen(once).path).toBe(once)
      }),
      { numRuns: 500 }
    )
  })

  it('any percent-encoding of unreserved characters lands on the same route, rule and key', () => {
    fc.assert(
      fc.property(
        plainPath,
        fc.array(fc.boolean(), { minLength: 1, maxLength: 7 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 3 }),
        (plain, picks, lower) => {
          const odd = seen(respell(plain, picks, lower))
          const reference = seen(plain)
          expect(odd.path).toBe(reference.path)
          expect(matchRoute(ROUTES, odd.path)).toBe(matchRoute(ROUTES, reference.path))
          expect(matchingRules(RULES, 'GET', odd.ruleSpellings)).toEqual(
            matchingRules(RULES, 'GET', reference.ruleSpellings)
          )
          const key = (path: string) =>
            primaryKey(new URL(path, 'https://cache.test'), { ignoreQuery: [] })
          expect(key(odd.path)).toBe(key(reference.path))
        }
      ),
      { numRuns: 300 }
    )
  })

  it('marks encoded separators, segment parameters and empty segments ambiguous', () => {
    for (const spelling of ['/a%2Fb', '/a%2fb', '/a%5Cb', '/a;b=1/c', '//a', '/a//b']) {
      expect(seen(spelling).ambiguous).toBe(true)
    }
    for (const spelling of ['/a/b', '/a%20b', '/a%25b', '/a.b', '/a/b/']) {
      expect(seen(spelling).ambiguous).toBe(false)
    }
  })

  it('gives rules the spellings a lenient origin would read', () => {
    expect(seen('/Search/').ruleSpellings).toEqual(
      expect.arrayContaining(['/Search/', '/search/', '/search'])
    )
    expect(seen('/search;jsessionid=1').ruleSpellings).toContain('/search')
    expect(seen('/a%2Fsearch').ruleSpellings).toContain('/a/search')
    expect(seen('//search').ruleSpellings).toContain('/search')
  })

  it('never lets a spelling of /search escape its rule', () => {
    const spellings = fc
      .tuple(
        fc.constantFrom('/search', '/Search', '/SEARCH', '/%73earch', '/se%61rch'),
        fc.constantFrom('', '/', ';x=1', ';', '%2F'),
        fc.constantFrom('', '/', '//', '/./', '/x/../')
      )
      .map(([name, suffix, prefix]) =>
        `${prefix.slice(0, -1)}${name}${suffix}`.replace(/^([^/])/, '/$1')
      )
    fc.assert(
      fc.property(spellings, (spelling) => {
        expect(
          matchingRules(RULES, 'GET', seen(spelling).ruleSpellings).map((r) => r.name)
        ).toEqual(['search'])
      }),
      { numRuns: 200 }
    )
  })
})
