import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  parseDictionary,
  type BareItem,
  type InnerList,
  type Item,
} from '../../src/http/structured-fields'

/** Plain JS view of a parsed dictionary, for toEqual. */
function plain(value: string) {
  const dict = parseDictionary(value)
  if (dict === undefined) return undefined
  const item = (i: Item) => [i.value.type, i.value.value, Object.fromEntries(i.params)]
  return Object.fromEntries(
    [...dict].map(([key, member]) => [
      key,
      member.kind === 'item' ? item(member) : ['inner', member.items.map(item)],
    ])
  )
}

describe('parseDictionary (RFC 8941 §4.2.2)', () => {
  it('parses keys, bare items and parameters', () => {
    expect(plain('a=1, b=-2.5, c="x\\"y", d=tok/en:1, e=:aGk=:, f=?0, g, h;p=1')).toEqual({
      a: ['integer', 1, {}],
      b: ['decimal', -2.5, {}],
      c: ['string', 'x"y', {}],
      d: ['token', 'tok/en:1', {}],
      e: ['binary', 'aGk=', {}],
      f: ['boolean', false, {}],
      g: ['boolean', true, {}],
      h: ['boolean', true, { p: { type: 'integer', value: 1 } }],
    })
  })

  it('parses inner lists with parameters', () => {
    const dict = parseDictionary('a=(1 "b" c);q=?1, z')!
    const a = dict.get('a') as InnerList
    expect(a.kind).toBe('inner-list')
    expect(a.items.map((i) => i.value.value)).toEqual([1, 'b', 'c'])
    expect(a.params.get('q')).toEqual({ type: 'boolean', value: true })
    expect(parseDictionary('a=()')!.get('a')).toMatchObject({ kind: 'inner-list', items: [] })
  })

  it('tolerates OWS around commas and leading/trailing spaces', () => {
    expect(plain('  a=1 ,\tb=2  ')).toEqual({ a: ['integer', 1, {}], b: ['integer', 2, {}] })
  })

  it('a repeated key keeps its first position and takes its last value', () => {
    const dict = parseDictionary('a=1, b=2, a=3')!
    expect([...dict.keys()]).toEqual(['a', 'b'])
    expect((dict.get('a') as Item).value.value).toBe(3)
  })

  it('an empty value is an empty dictionary', () => {
    expect(parseDictionary('')!.size).toBe(0)
    expect(parseDictionary('   ')!.size).toBe(0)
  })

  it.each([
    'a=1,',
    ',a=1',
    'a=1,,b=2',
    'A=1',
    'a =1',
    'a= 1',
    '1a=1',
    '_a',
    'a=1 b=2',
    'a=1;',
    'a=1; ',
    'a=;',
    'a=',
    'a="x',
    'a="\\x"',
    'a="é"',
    'a="\u0001"',
    'a=?',
    'a=?2',
    'a=:abc',
    'a=:a$c:',
    'a=1.',
    'a=1.2345',
    'a=-',
    'a=--1',
    'a=1234567890123456',
    'a=1234567890123.1',
    'a=(1 2',
    'a=(1,2)',
    'a=((1))',
    'a=@',
    '\ta=1',
    'a=1\n',
    'a=é',
  ])('%j fails as a whole', (value) => {
    expect(parseDictionary(value)).toBeUndefined()
  })

  it('accepts the largest integer and decimal the grammar allows', () => {
    expect(plain('a=999999999999999, b=-999999999999.999')).toEqual({
      a: ['integer', 999_999_999_999_999, {}],
      b: ['decimal', -999_999_999_999.999, {}],
    })
  })
})

// Generators for a round-trip property: serialize (RFC 8941 §4.1) then parse.
const key = fc.stringMatching(/^[a-z*][a-z0-9_\-.*]{0,8}$/)
const bare: fc.Arbitrary<BareItem> = fc.oneof(
  fc
    .integer({ min: -999_999_999_999_999, max: 999_999_999_999_999 })
    .map((value) => ({ type: 'integer' as const, value })),
  fc
    .integer({ min: -999_999_999, max: 999_999_999 })
    .map((n) => ({ type: 'decimal' as const, value: n / 1000 })),
  fc
    .string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) })
    .map((value) => ({ type: 'string' as const, value })),
  fc
    .stringMatching(/^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]{0,8}$/)
    .map((value) => ({ type: 'token' as const, value })),
  fc.boolean().map((value) => ({ type: 'boolean' as const, value }))
)

function serializeBare(item: BareItem): string {
  switch (item.type) {
    case 'integer':
      return String(item.value)
    case 'decimal': {
      const text = item.value.toFixed(3).replace(/0{1,2}$/, '')
      return text
    }
    case 'string':
      return `"${item.value.replace(/[\\"]/g, (c) => `\\${c}`)}"`
    case 'token':
    case 'binary':
      return item.type === 'binary' ? `:${item.value}:` : item.value
    case 'boolean':
      return item.value ? '?1' : '?0'
  }
}

const params = fc.array(fc.tuple(key, bare), { maxLength: 2 })
const serializeParams = (ps: Array<[string, BareItem]>) =>
  ps
    .map(([k, v]) => (v.type === 'boolean' && v.value ? `;${k}` : `;${k}=${serializeBare(v)}`))
    .join('')

describe('parseDictionary: properties (fast-check)', () => {
  it('round-trips any serialized dictionary', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(key, bare, params), { selector: ([k]) => k, maxLength: 5 }),
        (members) => {
          const text = members
            .map(([k, v, ps]) =>
              v.type === 'boolean' && v.value
                ? `${k}${serializeParams(ps)}`
                : `${k}=${serializeBare(v)}${serializeParams(ps)}`
            )
            .join(', ')
          const dict = parseDictionary(text)
          expect(dict).toBeDefined()
          expect([...dict!.keys()]).toEqual(members.map(([k]) => k))
          for (const [k, v] of members) {
            const member = dict!.get(k) as Item
            expect(member.value.type).toBe(v.type)
            expect(member.value.value).toBe(v.value === 0 ? member.value.value : v.value)
          }
        }
      )
    )
  })

  it('never throws on arbitrary input, and a failure is all-or-nothing', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (value) => {
        const dict = parseDictionary(value)
        if (dict !== undefined)
          for (const k of dict.keys()) expect(k).toMatch(/^[a-z*][a-z0-9_\-.*]*$/)
      })
    )
  })

  it('appending garbage after a valid member makes the whole value invalid', () => {
    fc.assert(
      fc.property(key, fc.constantFrom(' x', ',', ' ;', '=', ' "', '(', ')', ' 1'), (k, tail) => {
        expect(parseDictionary(`${k}=1${tail}`)).toBeUndefined()
      })
    )
  })
})
