import { expect } from 'vitest'
import type { ConformanceHarness, ConformanceRow } from '../row'
import { idOf } from './helpers'

/*
 * RFC 9111 §4.1: a stored response is selected only if the request's values for the fields its Vary
 * names match; a cache may normalise them first (combine repeated fields, drop whitespace, and use
 * the field's own semantics: case and member order for Accept-Language, the accepted coding set for
 * Accept-Encoding).
 */

/**
 * The stored response for `vary`, asked for with `a` then `b`: whether `b` reused `a`'s copy, and
 * the origin fetches.
 */
async function pair(
  h: ConformanceHarness,
  vary: string,
  a: HeadersInit,
  b: HeadersInit,
  extra?: Record<string, string>
) {
  const path = h.echo('v', { 'cache-control': 'max-age=60', vary, ...extra })
  const first = await h.send(path, { headers: a })
  expect(first.cacheStatus).toMatch(/stored/)
  const second = await h.send(path, { headers: b })
  const reused = idOf(second.text) !== undefined && idOf(second.text) === idOf(first.text)
  return { path, first, second, reused, fetches: await h.fetches(path) }
}

function sameVariantRow(
  id: string,
  requirement: string,
  vary: string,
  a: HeadersInit,
  b: HeadersInit
): ConformanceRow {
  return {
    id,
    section: 'RFC 9111 §4.1',
    requirement,
    run: async (h) => {
      const { second, reused, fetches } = await pair(h, vary, a, b)
      expect(second.cacheStatus).toMatch(/; hit/)
      expect(reused).toBe(true)
      expect(fetches).toBe(1)
    },
  }
}

function otherVariantRow(
  id: string,
  requirement: string,
  vary: string,
  a: HeadersInit,
  b: HeadersInit
): ConformanceRow {
  return {
    id,
    section: 'RFC 9111 §4.1',
    requirement,
    run: async (h) => {
      const { second, reused, fetches } = await pair(h, vary, a, b)
      expect(second.cacheStatus).not.toMatch(/; hit/)
      expect(reused).toBe(false)
      expect(fetches).toBe(2)
    },
  }
}

export const varyRows: ConformanceRow[] = [
  sameVariantRow(
    'vary-accept-language-case-and-order',
    'Accept-Language values that differ only in case and member order select the same response',
    'Accept-Language',
    { 'accept-language': 'en-US, de;q=0.5' },
    { 'accept-language': 'DE;q=0.5,en-us' }
  ),
  sameVariantRow(
    'vary-accept-language-whitespace-and-weights',
    'Accept-Language values that differ in whitespace or in how a weight is written select the same response',
    'accept-language',
    { 'accept-language': 'fr-CH, fr;q=0.9' },
    { 'accept-language': '  fr-CH;q=1 ,fr ; q=0.900 ' }
  ),
  otherVariantRow(
    'vary-accept-language-distinct-sets',
    'different Accept-Language sets select different responses',
    'Accept-Language',
    { 'accept-language': 'en' },
    { 'accept-language': 'en, de' }
  ),
  otherVariantRow(
    'vary-accept-language-distinct-weights',
    'the same languages with different weights select different responses',
    'Accept-Language',
    { 'accept-language': 'en, de;q=0.5' },
    { 'accept-language': 'en;q=0.5, de' }
  ),
  sameVariantRow(
    'vary-repeated-field-combined',
    'a field sent as several lines selects like the same values on one line, in order',
    'X-Flavour',
    [
      ['x-flavour', 'vanilla'],
      ['x-flavour', 'chocolate'],
    ],
    { 'x-flavour': 'vanilla,chocolate' }
  ),
  sameVariantRow(
    'vary-whitespace-around-commas',
    'whitespace around commas and at the ends of a selecting value is not significant',
    'X-Flavour',
    { 'x-flavour': 'vanilla,chocolate' },
    { 'x-flavour': '  vanilla ,   chocolate ' }
  ),
  otherVariantRow(
    'vary-other-fields-case-sensitive',
    'a field without case-insensitive semantics is compared with its case',
    'X-Flavour',
    { 'x-flavour': 'Vanilla' },
    { 'x-flavour': 'vanilla' }
  ),
  otherVariantRow(
    'vary-absent-differs-from-empty',
    'a request without the selecting field does not match a response stored for an empty one',
    'X-Flavour',
    { 'x-flavour': '' },
    {}
  ),
  sameVariantRow(
    'vary-accept-encoding-equivalent',
    'Accept-Encoding values accepting the same known codings select the same response',
    'Accept-Encoding',
    { 'accept-encoding': 'gzip, deflate, br' },
    { 'accept-encoding': 'br;q=1.0, deflate;q=0.5, x-gzip, x-unknown' }
  ),
  {
    id: 'vary-accept-encoding-distinct',
    section: 'RFC 9111 §4.1',
    requirement: 'Accept-Encoding values accepting different codings select different responses',
    run: async (h) => {
      const { reused, fetches } = await pair(
        h,
        'Accept-Encoding',
        { 'accept-encoding': 'gzip' },
        { 'accept-encoding': 'identity' }
      )
      // End to end, wrangler dev (like Cloudflare's edge) hands the Worker `Accept-Encoding: br, gzip`
      // whatever the client sent, and re-codes the answer for the client itself: one variant.
      expect(reused).toBe(h.where !== 'workerd')
      expect(fetches).toBe(h.where === 'workerd' ? 2 : 1)
    },
  },
  {
    id: 'vary-coded-body-selects-by-accept-encoding',
    section: 'RFC 9111 §4.1',
    requirement:
      'a coded body stored without Vary: Accept-Encoding is not served to a client that accepts another coding set',
    run: async (h) => {
      const path = h.echo(
        'coded',
        {
          'cache-control': 'max-age=60',
          'content-type': 'application/octet-stream',
          'content-encoding': 'x-foo',
        },
        `body-b64=${encodeURIComponent(btoa('coded'))}`
      )
      await h.send(path, { headers: { 'accept-encoding': 'gzip' } })
      const same = await h.send(path, { headers: { 'accept-encoding': 'gzip' } })
      expect(same.cacheStatus).toMatch(/; hit/)
      await h.send(path, { headers: { 'accept-encoding': 'identity' } })
      expect(await h.fetches(path)).toBe(h.where === 'workerd' ? 2 : 1)
    },
  },
]
