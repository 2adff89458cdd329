import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  compileQueryRules,
  exceedsKeyLimit,
  normalizeHeaderValue,
  normalizePath,
  normalizeQuery,
  normalizedQueryOf,
  primaryKey,
  variantKey,
  type QueryRules,
} from '../../src/cache/cache-key'

const NO_RULES: QueryRules = { ignoreQuery: [] }

function query(search: string, rules: QueryRules = NO_RULES): string {
  return normalizeQuery(new URLSearchParams(search), rules)
}

function key(url: string, rules: QueryRules = NO_RULES): string {
  return primaryKey(new URL(url), rules)
}

describe('normalizeQuery', () => {
  it('sorts parameters by name', () => {
    expect(query('b=2&a=1&c=3')).toBe('?a=1&b=2&c=3')
    expect(query('a=1&b=2&c=3')).toBe(query('c=3&a=1&b=2'))
  })

  it('keeps every value of a repeated name, sorted', () => {
    expect(query('tag=b&x=1&tag=a&tag=c')).toBe('?tag=a&tag=b&tag=c&x=1')
    expect(query('a=1&a=1')).toBe('?a=1&a=1')
  })

  it('orders by name first, then by value', () => {
    // "a-b" sorts after "a" by name even though '-' < '=' as characters of "a=…".
    expect(query('a-b=1&a=2')).toBe('?a=2&a-b=1')
    expect(query('a=10&a=9&a=1')).toBe('?a=1&a=10&a=9')
  })

  it('re-encodes names and values consistently', () => {
    expect(query('a=%7E')).toBe(query('a=~'))
    expect(query('a=%7e')).toBe('?a=~')
    expect(query('q=a+b')).toBe(query('q=a%20b'))
    expect(query('q=a+b')).toBe('?q=a%20b')
    expect(query('q=%2f')).toBe('?q=%2F')
    expect(query('na%6De=v')).toBe('?name=v')
    expect(query('q=caf%C3%A9')).toBe(query('q=café'))
    expect(query('q=a%26b%3Dc')).toBe('?q=a%26b%3Dc')
  })

  it('treats a name without value as an empty value', () => {
    expect(query('a')).toBe('?a=')
    expect(query('a')).toBe(query('a='))
  })

  it('returns an empty string when nothing remains', () => {
    expect(query('')).toBe('')
    expect(query('?')).toBe('')
    expect(query('&&')).toBe('')
    expect(query('utm_source=x', { ignoreQuery: ['utm_*'] })).toBe('')
  })

  it('drops ignored parameters, with globs', () => {
    const rules: QueryRules = { ignoreQuery: ['utm_*', 'fbclid', '*_ts'] }
    expect(query('id=1&utm_source=news&utm_medium=mail&fbclid=x&cache_ts=9', rules)).toBe('?id=1')
    // Exact names match exactly; globs are anchored and case-sensitive.
    expect(query('fbclid2=1&xutm_a=2&UTM_A=3', rules)).toBe('?UTM_A=3&fbclid2=1&xutm_a=2')
    // The glob star matches the empty run too.
    expect(query('utm_=1', rules)).toBe('')
  })

  it('treats regex characters in globs literally', () => {
    const rules: QueryRules = { ignoreQuery: ['a.b', 'x[1]*', '(c)|d'] }
    expect(query('a.b=1&axb=2&x[1]y=3&x1y=4&(c)|d=5&d=6', rules)).toBe('?axb=2&d=6&x1y=4')
  })

  it('keeps only allowed parameters when allowQuery is set', () => {
    const rules: QueryRules = { ignoreQuery: [], allowQuery: ['q', 'page', 'f_*'] }
    expect(query('page=2&q=shoes&sort=price&utm_source=x&f_color=red', rules)).toBe(
      '?f_color=red&page=2&q=shoes'
    )
    expect(query('sort=price', rules)).toBe('')
  })

  it('keeps nothing with an empty allowQuery', () => {
    expect(query('a=1&b=2', { ignoreQuery: [], allowQuery: [] })).toBe('')
  })

  it('applies ignoreQuery on top of allowQuery', () => {
    const rules: QueryRules = { ignoreQuery: ['f_debug'], allowQuery: ['f_*'] }
    expect(query('f_debug=1&f_size=m&other=1', rules)).toBe('?f_size=m')
  })

  it('compiles the rules once per rules object', () => {
    const rules: QueryRules = { ignoreQuery: ['utm_*'] }
    const matcher = compileQueryRules(rules)
    expect(compileQueryRules(rules)).toBe(matcher)
    expect(matcher.keeps('utm_x')).toBe(false)
    expect(matcher.keeps('id')).toBe(true)
    expect(compileQueryRules({ ignoreQuery: ['utm_*'] })).not.toBe(matcher)
  })
})

describe('normalizedQueryOf', () => {
  it('answers what normalizeQuery does, remembered or not, whatever the query and rules', () => {
    const rulesList: QueryRules[] = [
      NO_RULES,
      { ignoreQuery: ['utm_*'] },
      { ignoreQuery: [], allowQuery: ['a', 'b*'] },
    ]
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string(), fc.string()), { maxLength: 6 }),
        fc.nat({ max: rulesList.length - 1 }),
        (pairs, which) => {
          const rules = rulesList[which]!
          const url = new URL('https://x.test/p')
          for (const [name, value] of pairs) url.searchParams.append(name, value)
          const expected = normalizeQuery(url.searchParams, rules)
          // Twice: the first may compute, the second is remembered.
          expect(normalizedQueryOf(new URL(url.href), rules)).toBe(expected)
          expect(normalizedQueryOf(new URL(url.href), rules)).toBe(expected)
        }
      )
    )
  })

  it('keeps rules apart: one query under two rule sets', () => {
    const url = new URL('https://x.test/p?utm_source=a&b=1')
    expect(normalizedQueryOf(url, NO_RULES)).toBe('?b=1&utm_source=a')
    expect(normalizedQueryOf(url, { ignoreQuery: ['utm_*'] })).toBe('?b=1')
  })
})

describe('normalizePath', () => {
  it('returns a path without escapes as is', () => {
    const path = '/products/1/reviews'
    expect(normalizePath(path)).toBe(path)
  })

  it('decodes escaped unreserved characters', () => {
    expect(normalizePath('/%7Euser')).toBe('/~user')
    expect(normalizePath('/%7euser')).toBe('/~user')
    expect(normalizePath('/%41%62%30%2D%2E%5F')).toBe('/Ab0-._')
  })

  it('upper-cases the hex of other escapes', () => {
    expect(normalizePath('/a%2fb')).toBe('/a%2Fb')
    expect(normalizePath('/a%2Fb')).toBe('/a%2Fb')
    expect(normalizePath('/caf%c3%a9')).toBe('/caf%C3%A9')
    expect(normalizePath('/a%20b')).toBe('/a%20b')
  })

  it('keeps malformed escapes', () => {
    expect(normalizePath('/a%zz%2')).toBe('/a%zz%2')
  })
})

describe('primaryKey', () => {
  it('is the normalised path and query, without host or scheme', () => {
    expect(key('https://api.example.com/products/1?b=2&a=1')).toBe('/products/1?a=1&b=2')
    expect(key('http://other.example:8080/products/1?a=1&b=2')).toBe('/products/1?a=1&b=2')
  })

  it('makes %7E and ~, %2f and %2F the same key in the path', () => {
    expect(key('https://x.test/%7Euser/a%2fb')).toBe(key('https://x.test/~user/a%2Fb'))
    expect(key('https://x.test/%7Euser/a%2fb')).toBe('/~user/a%2Fb')
  })

  it('has no ? when the query is empty or only a ?', () => {
    expect(key('https://x.test/a')).toBe('/a')
    expect(key('https://x.test/a?')).toBe('/a')
    expect(key('https://x.test/a?utm_source=x', { ignoreQuery: ['utm_*'] })).toBe('/a')
  })

  it('drops the fragment', () => {
    expect(key('https://x.test/a?b=1#frag')).toBe('/a?b=1')
  })
})

describe('normalizeHeaderValue', () => {
  it('maps absent to NUL, distinct from empty', () => {
    expect(normalizeHeaderValue(null)).toBe('\u0000')
    expect(normalizeHeaderValue('')).toBe('')
  })

  it('trims, folds whitespace and removes it around commas', () => {
    expect(normalizeHeaderValue('  en-US  ')).toBe('en-US')
    expect(normalizeHeaderValue('text/html;\t  q=0.9')).toBe('text/html; q=0.9')
    expect(normalizeHeaderValue('gzip , br,deflate ,  zstd')).toBe('gzip,br,deflate,zstd')
    expect(normalizeHeaderValue('gzip,br')).toBe('gzip,br')
  })
})

describe('variantKey', () => {
  const primary = '/search?q=shoes'
  const names = ['accept-encoding', 'accept-language']

  it('appends each header in the order given, in its canonical form', () => {
    const headers = new Headers({ 'accept-language': 'FR', 'accept-encoding': 'gzip, br' })
    expect(variantKey(primary, names, headers)).toBe(
      '/search?q=shoes\naccept-encoding:br,gzip\naccept-language:fr'
    )
  })

  it('selects by canonical Accept-Encoding and Accept-Language (RFC 9111 §4.1)', () => {
    const key = (encoding: string, language: string) =>
      variantKey(
        primary,
        names,
        new Headers({ 'accept-encoding': encoding, 'accept-language': language })
      )
    expect(key('br;q=0.9, gzip', 'en-US, de;q=0.5')).toBe(key('gzip, br', 'DE;q=0.5,en-us'))
    expect(key('gzip', 'en')).not.toBe(key('br', 'en'))
    expect(key('gzip', 'en')).not.toBe(key('gzip', 'de'))
  })

  it('differs by header value', () => {
    const fr = variantKey(primary, names, new Headers({ 'accept-language': 'fr' }))
    const de = variantKey(primary, names, new Headers({ 'accept-language': 'de' }))
    expect(fr).not.toBe(de)
  })

  it('differs between an absent and an empty header', () => {
    const absent = variantKey(primary, names, new Headers())
    const empty = variantKey(primary, names, new Headers({ 'accept-language': '' }))
    expect(absent).not.toBe(empty)
  })

  it('is the same for values that differ only in whitespace', () => {
    const a = variantKey(primary, names, new Headers({ 'accept-encoding': 'gzip,br' }))
    const b = variantKey(primary, names, new Headers({ 'accept-encoding': 'gzip ,  br ' }))
    expect(a).toBe(b)
  })

  it('is the primary key when no header selects a variant', () => {
    expect(variantKey(primary, [], new Headers({ 'accept-language': 'fr' }))).toBe(primary)
  })
})

describe('exceedsKeyLimit', () => {
  it('compares the length in UTF-16 code units', () => {
    expect(exceedsKeyLimit('a'.repeat(64), 64)).toBe(false)
    expect(exceedsKeyLimit('a'.repeat(65), 64)).toBe(true)
    expect(exceedsKeyLimit('🌍'.repeat(32), 64)).toBe(false)
    expect(exceedsKeyLimit('🌍'.repeat(32) + 'a', 64)).toBe(true)
  })
})
