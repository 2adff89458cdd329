import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { selectingValue, variantKey } from '../../src/cache/cache-key'
import { canonicalAcceptEncoding, canonicalAcceptLanguage } from '../../src/http/accept'

const ae = (value: string | null) => selectingValue('accept-encoding', value)
const al = (value: string | null) => selectingValue('accept-language', value)

describe('canonicalAcceptEncoding', () => {
  it('is the sorted set of known codings with q>0', () => {
    expect(canonicalAcceptEncoding('gzip, deflate, br, zstd')).toBe('br,deflate,gzip,zstd')
    expect(canonicalAcceptEncoding('br;q=1.0, gzip;q=0.8, *;q=0.1')).toBe('br,deflate,gzip,zstd')
    expect(canonicalAcceptEncoding('gzip')).toBe('gzip')
    expect(canonicalAcceptEncoding('GZIP;Q=0.5')).toBe('gzip')
  })

  it('drops codings with q=0, and * covers only what is not named', () => {
    expect(canonicalAcceptEncoding('gzip;q=0, br')).toBe('br')
    expect(canonicalAcceptEncoding('*, gzip;q=0')).toBe('br,deflate,zstd')
    expect(canonicalAcceptEncoding('*;q=0, br')).toBe('br')
  })

  it('is identity when no known coding is acceptable (empty value included, RFC 9110 §12.5.3)', () => {
    expect(canonicalAcceptEncoding('')).toBe('identity')
    expect(canonicalAcceptEncoding('identity')).toBe('identity')
    expect(canonicalAcceptEncoding('x-foo, compress')).toBe('identity')
    expect(canonicalAcceptEncoding('gzip;q=0')).toBe('identity')
  })

  it('reads x-gzip as gzip and ignores malformed members', () => {
    expect(canonicalAcceptEncoding('x-gzip')).toBe('gzip')
    expect(canonicalAcceptEncoding('gzip;q=2, br;q=abc, deflate;level=9, zstd')).toBe('zstd')
    expect(canonicalAcceptEncoding(',,, ,gzip,,')).toBe('gzip')
  })

  it('an absent field stays absent (distinct from every value)', () => {
    expect(ae(null)).toBe('\u0000')
    expect(ae('')).not.toBe(ae(null))
  })

  it('property: the result is identity or a sorted subset of the known codings, and idempotent', () => {
    const member = fc.oneof(
      fc.constantFrom('gzip', 'br', 'deflate', 'zstd', 'identity', '*', 'x-gzip', 'x-foo', 'GZip'),
      fc.string({ maxLength: 8 })
    )
    const weight = fc.oneof(
      fc.constant(''),
      fc.constantFrom(';q=0', ';q=1', ' ; q=0.5', ';q=0.001', ';q=1.5', ';q=x')
    )
    const field = fc
      .array(fc.tuple(member, weight), { maxLength: 8 })
      .map((members) => members.map(([m, w]) => m + w).join(' , '))
    fc.assert(
      fc.property(field, (value) => {
        const canonical = ae(value)
        expect(canonical).toMatch(/^(?:identity|(?:br,?)?(?:deflate,?)?(?:gzip,?)?(?:zstd)?)$/)
        expect(canonical.endsWith(',')).toBe(false)
        expect(ae(canonical)).toBe(canonical)
      })
    )
  })

  it('property: hostile values never throw and stay as short as the known set', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 500 }), (value) => {
        expect(ae(value).length).toBeLessThanOrEqual('br,deflate,gzip,zstd'.length)
      })
    )
  })
})

describe('canonicalAcceptLanguage', () => {
  it('ignores case, member order and whitespace; keeps weights', () => {
    const expected = 'de-de,en;q=0.5,fr;q=0.8'
    expect(al('de-DE, en;q=0.5, fr;q=0.8')).toBe(expected)
    expect(al('fr ; q=0.8 ,EN;Q=0.5,de-de')).toBe(expected)
    expect(al('  en;q=0.500,fr;q=0.80 ,  DE-de  ')).toBe(expected)
  })

  it('q=1 is the default weight; duplicates and empty members go', () => {
    expect(al('en;q=1, de;q=1.000')).toBe(al('de,en'))
    expect(al('en, en,,')).toBe('en')
  })

  it('keeps distinct weights and malformed members apart', () => {
    expect(al('en;q=0.5')).not.toBe(al('en;q=0.6'))
    expect(al('en;q=0')).not.toBe(al('en'))
    expect(al('en;q=2')).toBe('en;q=2')
    expect(al('en;q=2')).not.toBe(al('en'))
  })

  it('an absent field differs from an empty one', () => {
    expect(al(null)).toBe('\u0000')
    expect(al('')).toBe('')
  })

  const tag = fc.stringMatching(/^[a-z]{2,3}(?:-[a-z0-9]{2,8})?$/)
  const q = fc.constantFrom('', ';q=0.9', ';q=0.5', ';q=0.1', ';q=0')
  const languages = fc.uniqueArray(tag, { minLength: 1, maxLength: 6 })

  /** Random case, spacing and order for the same members. */
  function spelling(members: readonly string[], seed: number): string {
    const shuffled = [...members]
    let s = seed
    for (let i = shuffled.length - 1; i > 0; i--) {
      s = (s * 1103515245 + 12345) & 0x7fffffff
      const j = s % (i + 1)
      ;[shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!]
    }
    return shuffled
      .map((m, i) => (i % 2 === seed % 2 ? m.toUpperCase() : m).replace(';', i % 3 ? ' ; ' : ';'))
      .join(seed % 3 === 0 ? ' ,\t' : ',')
  }

  it('property: permutations, case and whitespace of one field map to one key', () => {
    fc.assert(
      fc.property(
        languages,
        fc.array(q, { minLength: 6, maxLength: 6 }),
        fc.nat(),
        (langs, qs, seed) => {
          const members = langs.map((l, i) => l + qs[i])
          const a = variantKey(
            '/p',
            ['accept-language'],
            new Headers({ 'accept-language': spelling(members, seed) })
          )
          const b = variantKey(
            '/p',
            ['accept-language'],
            new Headers({ 'accept-language': members.join(', ') })
          )
          expect(a).toBe(b)
        }
      )
    )
  })

  it('property: distinct language sets map to distinct keys', () => {
    fc.assert(
      fc.property(languages, languages, (a, b) => {
        const same = new Set(a).size === new Set(b).size && a.every((l) => b.includes(l))
        const ka = variantKey(
          '/p',
          ['accept-language'],
          new Headers({ 'accept-language': a.join(',') })
        )
        const kb = variantKey(
          '/p',
          ['accept-language'],
          new Headers({ 'accept-language': b.join(',') })
        )
        expect(ka === kb).toBe(same)
      })
    )
  })

  it('property: normalisation is idempotent for any value', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (value) => {
        const once = al(value)
        expect(al(once)).toBe(once)
        expect(canonicalAcceptLanguage(once)).toBe(once)
      })
    )
  })
})

describe('selectingValue', () => {
  it('combines repeated fields in order (as Headers.get joins them) and trims around commas', () => {
    const headers = new Headers()
    headers.append('x-flavour', ' a ')
    headers.append('x-flavour', 'b  c ')
    expect(selectingValue('x-flavour', headers.get('x-flavour'))).toBe('a,b c')
  })

  it('property: idempotent for every field name', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('accept-encoding', 'accept-language', 'x-other'),
        fc.string({ maxLength: 60 }),
        (name, value) => {
          const once = selectingValue(name, value)
          expect(selectingValue(name, once)).toBe(once)
        }
      )
    )
  })
})
