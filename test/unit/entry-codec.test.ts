import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { variantKey } from '../../src/cache/cache-key'
import type { CacheEntry, StoredRecord, VaryIndex } from '../../src/cache/entry'
import {
  decodeHead,
  decodeRecord,
  encodeHead,
  encodeRecord,
  EntryCodecError,
} from '../../src/cache/entry-codec'
import { revalidationHeaders } from '../../src/http/conditional'
import { responseFromEntry } from '../../src/proxy/respond'

const allBytes = Uint8Array.from({ length: 256 }, (_, i) => i)

function entry(overrides: Partial<CacheEntry> = {}): CacheEntry {
  return {
    kind: 'response',
    status: 200,
    headers: [
      ['content-type', 'application/json; charset=utf-8'],
      ['x-greeting', 'grüß dich, 世界 🌍'],
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
      ['X-Mixed-Case', 'kept as stored'],
    ],
    body: allBytes,
    storedAt: 1_763_890_000_123.5,
    initialAgeSec: 42,
    freshUntil: 1_763_890_060_123,
    staleWhileRevalidateUntil: 1_763_890_090_123,
    staleIfErrorUntil: 1_763_890_360_123,
    mustRevalidate: false,
    etag: 'W/"abc-ü"',
    lastModified: 'Sun, 22 Nov 2026 10:00:00 GMT',
    tags: ['catalogue', 'product:1', 'étiquette', '🏷️'],
    fetchMs: 187,
    ...overrides,
  }
}

const index: VaryIndex = {
  kind: 'vary-index',
  headerNames: ['accept-encoding', 'accept-language'],
  createdAt: 1_763_890_000_000,
  expiresAt: 1_763_893_600_000,
  variants: [
    '\naccept-encoding:gzip\naccept-language:de',
    '\naccept-encoding:\u0000\naccept-language:fr',
  ],
}

function expectCodecError(fn: () => unknown, message?: RegExp): void {
  let caught: unknown
  try {
    fn()
  } catch (error) {
    caught = error
  }
  expect(caught).toBeInstanceOf(EntryCodecError)
  if (message) expect((caught as EntryCodecError).message).toMatch(message)
}

/** A copy of `bytes` with a patch applied through a DataView. */
function patched(bytes: Uint8Array, patch: (view: DataView) => void): Uint8Array {
  const copy = bytes.slice()
  patch(new DataView(copy.buffer))
  return copy
}

function roundTrip(record: StoredRecord): StoredRecord {
  return decodeRecord(encodeRecord(record))
}

describe('encodeRecord / decodeRecord', () => {
  it('round-trips a full response entry', () => {
    const original = entry()
    const decoded = roundTrip(original)
    expect(decoded).toEqual(original)
    expect(decoded.kind).toBe('response')
  })

  it('keeps every byte value of a binary body', () => {
    const decoded = roundTrip(entry())
    if (decoded.kind !== 'response') throw new Error('expected a response')
    expect(decoded.body.byteLength).toBe(256)
    expect(Array.from(decoded.body)).toEqual(Array.from(allBytes))
  })

  it('round-trips an empty body, absent validators and must-revalidate', () => {
    const original = entry({
      body: new Uint8Array(0),
      etag: undefined,
      lastModified: undefined,
      mustRevalidate: true,
      headers: [],
      tags: [],
      status: 204,
    })
    const decoded = roundTrip(original)
    expect(decoded).toEqual(original)
    if (decoded.kind !== 'response') throw new Error('expected a response')
    expect(decoded.etag).toBeUndefined()
    expect(decoded.lastModified).toBeUndefined()
    expect(decoded.mustRevalidate).toBe(true)
    expect(decoded.body.byteLength).toBe(0)
  })

  it('distinguishes an absent etag from an empty one', () => {
    const decoded = roundTrip(entry({ etag: '', lastModified: undefined }))
    if (decoded.kind !== 'response') throw new Error('expected a response')
    expect(decoded.etag).toBe('')
    expect(decoded.lastModified).toBeUndefined()
  })

  it('keeps a leading byte order mark and lone surrogates become U+FFFD', () => {
    const decoded = roundTrip(entry({ tags: ['\uFEFFbom', 'lone\uD800'] }))
    if (decoded.kind !== 'response') throw new Error('expected a response')
    expect(decoded.tags).toEqual(['\uFEFFbom', 'lone\uFFFD'])
  })

  it('decodes into plain arrays and keeps header names as stored', () => {
    const decoded = roundTrip(entry())
    if (decoded.kind !== 'response') throw new Error('expected a response')
    expect(Array.isArray(decoded.headers)).toBe(true)
    expect(Array.isArray(decoded.tags)).toBe(true)
    expect(decoded.headers.map(([name]) => name)).toContain('X-Mixed-Case')
  })

  it('round-trips a vary index', () => {
    const decoded = roundTrip(index)
    expect(decoded).toEqual(index)
    expect(roundTrip({ ...index, headerNames: [] })).toEqual({ ...index, headerNames: [] })
    expect(roundTrip({ ...index, variants: [] })).toEqual({ ...index, variants: [] })
  })

  it('reads version 1 records: the same response layout, a vary index without variants', () => {
    const response = patched(encodeRecord(entry()), (v) => v.setUint8(2, 1))
    expect(decodeRecord(response)).toEqual(entry())
    // A version 1 index ends at expiresAt: the version 2 one without its (empty) variant count.
    const v2 = encodeRecord({ ...index, variants: [] })
    const v1 = patched(v2.subarray(0, v2.byteLength - 4), (v) => v.setUint8(2, 1))
    expect(decodeRecord(v1)).toEqual({ ...index, variants: [] })
    // A version 1 index followed by a variant list is refused: version 1 never had one.
    expectCodecError(() => decodeRecord(patched(encodeRecord(index), (v) => v.setUint8(2, 1))))
  })

  it('allocates exactly the encoded size', () => {
    const bytes = encodeRecord(entry())
    expect(bytes.byteOffset).toBe(0)
    expect(bytes.buffer.byteLength).toBe(bytes.byteLength)
  })

  it('starts with the magic, version and kind', () => {
    expect(Array.from(encodeRecord(entry()).subarray(0, 4))).toEqual([0x45, 0x43, 2, 0])
    expect(Array.from(encodeRecord(index).subarray(0, 4))).toEqual([0x45, 0x43, 2, 1])
  })

  it('decodes the body as a view, without copying', () => {
    const bytes = encodeRecord(entry())
    const decoded = decodeRecord(bytes)
    if (decoded.kind !== 'response') throw new Error('expected a response')
    expect(decoded.body.buffer).toBe(bytes.buffer)
    expect(decoded.body.byteOffset + decoded.body.byteLength).toBe(bytes.byteLength)
  })

  it('decodes from a view at a non-zero offset', () => {
    const bytes = encodeRecord(entry())
    const padded = new Uint8Array(bytes.byteLength + 7)
    padded.set(bytes, 3)
    expect(decodeRecord(padded.subarray(3, 3 + bytes.byteLength))).toEqual(entry())
  })

  it('clamps initialAgeSec and fetchMs to whole u32 values', () => {
    const decode = (initialAgeSec: number, fetchMs: number) => {
      const decoded = roundTrip(entry({ initialAgeSec, fetchMs }))
      if (decoded.kind !== 'response') throw new Error('expected a response')
      return [decoded.initialAgeSec, decoded.fetchMs]
    }
    expect(decode(1.9, 10.5)).toEqual([1, 10])
    expect(decode(-5, Number.NaN)).toEqual([0, 0])
    expect(decode(2 ** 40, Number.POSITIVE_INFINITY)).toEqual([0xffff_ffff, 0xffff_ffff])
  })

  it('refuses to encode a status outside 200..599', () => {
    expectCodecError(() => encodeRecord(entry({ status: 70_000 })), /status/)
    expectCodecError(() => encodeRecord(entry({ status: 200.5 })), /status/)
    expectCodecError(() => encodeRecord(entry({ status: 199 })), /status 199/)
    expectCodecError(() => encodeRecord(entry({ status: 600 })), /status 600/)
    expect(roundTrip(entry({ status: 599 }))).toEqual(entry({ status: 599 }))
  })

  it('refuses to encode a non-finite time', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expectCodecError(() => encodeRecord(entry({ storedAt: bad })), /storedAt/)
      expectCodecError(() => encodeRecord(entry({ staleIfErrorUntil: bad })), /staleIfErrorUntil/)
      expectCodecError(() => encodeRecord({ ...index, expiresAt: bad }), /expiresAt/)
    }
  })

  it('refuses to encode a variant that does not start with a newline, or too many', () => {
    expectCodecError(() => encodeRecord({ ...index, variants: ['accept-language:de'] }), /variant/)
    const many = Array.from({ length: 1025 }, (_, i) => `\nv:${i}`)
    expectCodecError(() => encodeRecord({ ...index, variants: many }), /1025 variants/)
  })
})

describe('decodeRecord on bad input', () => {
  it('throws on every truncation of a valid response', () => {
    const bytes = encodeRecord(entry())
    for (let length = 0; length < bytes.byteLength; length++) {
      expectCodecError(() => decodeRecord(bytes.subarray(0, length)))
    }
  })

  it('throws on every truncation of a valid vary index', () => {
    const bytes = encodeRecord(index)
    for (let length = 0; length < bytes.byteLength; length++) {
      expectCodecError(() => decodeRecord(bytes.subarray(0, length)))
    }
  })

  it('throws on bad magic', () => {
    const bytes = encodeRecord(entry())
    expectCodecError(() => decodeRecord(patched(bytes, (v) => v.setUint8(0, 0x46))), /magic/)
    expectCodecError(() => decodeRecord(patched(bytes, (v) => v.setUint8(1, 0x00))), /magic/)
  })

  it('throws on an unknown version', () => {
    const bytes = encodeRecord(entry())
    expectCodecError(() => decodeRecord(patched(bytes, (v) => v.setUint8(2, 3))), /version 3/)
    expectCodecError(() => decodeRecord(patched(bytes, (v) => v.setUint8(2, 0))), /version 0/)
  })

  it('throws on an unknown kind', () => {
    const bytes = encodeRecord(index)
    expectCodecError(() => decodeRecord(patched(bytes, (v) => v.setUint8(3, 2))), /kind 2/)
  })

  it('throws on unknown flag bits', () => {
    const bytes = encodeRecord(entry())
    expectCodecError(() => decodeRecord(patched(bytes, (v) => v.setUint8(4, 0b1000))), /flag/)
  })

  it('throws on trailing bytes', () => {
    for (const record of [entry(), index]) {
      const bytes = encodeRecord(record)
      const longer = new Uint8Array(bytes.byteLength + 1)
      longer.set(bytes)
      expectCodecError(() => decodeRecord(longer), /trailing/)
    }
  })

  it('throws on a huge declared count or length without allocating', () => {
    // No validators, headers or tags: header count at 4 + 1 + 2 + 32 + 8 = 47, tag count at 51, body length at 55.
    const bare = entry({ etag: undefined, lastModified: undefined, headers: [], tags: [] })
    const bytes = encodeRecord(bare)
    expect(new DataView(bytes.buffer).getUint32(55)).toBe(256)
    expectCodecError(
      () => decodeRecord(patched(bytes, (v) => v.setUint32(47, 0xffff_ffff))),
      /header count 4294967295 out of bounds/
    )
    expectCodecError(
      () => decodeRecord(patched(bytes, (v) => v.setUint32(51, 0xffff_ffff))),
      /tag count 4294967295 out of bounds/
    )
    expectCodecError(
      () => decodeRecord(patched(bytes, (v) => v.setUint32(55, 0xffff_ffff))),
      /body length 4294967295 out of bounds/
    )
    expectCodecError(
      () => decodeRecord(patched(encodeRecord(index), (v) => v.setUint32(4, 0xffff_ffff))),
      /header name count 4294967295 out of bounds/
    )
    // Vary index with no names and no variants: variant count at 4 + 4 + 8 + 8 = 24.
    const bareIndex = encodeRecord({ ...index, headerNames: [], variants: [] })
    expectCodecError(
      () => decodeRecord(patched(bareIndex, (v) => v.setUint32(24, 0xffff_ffff))),
      /variant count 4294967295 out of bounds/
    )
  })

  it('throws on a string length past the end', () => {
    // Vary index: name count at 4, first name length at 8.
    const bytes = encodeRecord(index)
    expectCodecError(
      () => decodeRecord(patched(bytes, (v) => v.setUint32(8, 1000))),
      /header name length 1000 out of bounds/
    )
  })

  it('throws on invalid UTF-8', () => {
    // Vary index with one 3-byte name "abc" at offset 12; 0xff is never valid UTF-8, 0xc3 0x28 is a bad sequence.
    const bytes = encodeRecord({ ...index, headerNames: ['abc'] })
    expect(Array.from(bytes.subarray(12, 15))).toEqual([0x61, 0x62, 0x63])
    expectCodecError(
      () => decodeRecord(patched(bytes, (v) => v.setUint8(13, 0xff))),
      /not valid UTF-8/
    )
    expectCodecError(
      () =>
        decodeRecord(
          patched(bytes, (v) => {
            v.setUint8(12, 0xc3)
            v.setUint8(13, 0x28)
          })
        ),
      /not valid UTF-8/
    )
  })

  it('has a stable error code', () => {
    expect(EntryCodecError.code).toBe('E_ENTRY_CODEC')
    expect(new EntryCodecError('x').name).toBe('EntryCodecError')
  })
})

describe('decodeRecord refuses values a tier could not serve', () => {
  // Response offsets: flags 4, status 5, storedAt 7, freshUntil 15, staleWhileRevalidateUntil 23,
  // staleIfErrorUntil 31.
  const bytes = encodeRecord(entry())

  it('a status outside 200..599', () => {
    for (const status of [0, 101, 199, 600, 999, 0xffff]) {
      expectCodecError(
        () => decodeRecord(patched(bytes, (v) => v.setUint16(5, status))),
        new RegExp(`status ${status} is not in 200..599`)
      )
    }
  })

  it('a non-finite or NaN time', () => {
    const fields = [
      [7, 'storedAt'],
      [15, 'freshUntil'],
      [23, 'staleWhileRevalidateUntil'],
      [31, 'staleIfErrorUntil'],
    ] as const
    for (const [offset, name] of fields) {
      for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
        expectCodecError(
          () => decodeRecord(patched(bytes, (v) => v.setFloat64(offset, bad))),
          new RegExp(`${name} .* not a finite time`)
        )
      }
    }
    // Vary index without names: createdAt at 8, expiresAt at 16.
    const bare = encodeRecord({ ...index, headerNames: [] })
    expectCodecError(
      () => decodeRecord(patched(bare, (v) => v.setFloat64(8, Number.NaN))),
      /createdAt NaN/
    )
    expectCodecError(
      () => decodeRecord(patched(bare, (v) => v.setFloat64(16, Number.POSITIVE_INFINITY))),
      /expiresAt Infinity/
    )
  })

  it('a header name that is not an RFC 9110 token', () => {
    for (const name of ['', 'a b', 'x:y', 'x\u0000', 'x\r\ny', '(x)', 'é', 'x"y']) {
      expectCodecError(
        () => decodeRecord(encodeRecord(entry({ headers: [[name, 'v']] }))),
        /header name .* not a token/
      )
    }
  })

  it('a header value with NUL, CR or LF', () => {
    for (const value of ['a\u0000b', 'a\rb', 'a\nb', 'ok\r\nx-injected: 1']) {
      expectCodecError(
        () => decodeRecord(encodeRecord(entry({ headers: [['x-a', value]] }))),
        /header value .* holds NUL, CR or LF/
      )
    }
  })

  it('an etag or lastModified with control characters (HTAB aside), a tag with any', () => {
    for (const bad of ['"a\u0001"', '"a\nb"', '"a\u0000"', '"a\u007f"', '"a\u001b[31m"']) {
      expectCodecError(() => decodeRecord(encodeRecord(entry({ etag: bad }))), /etag/)
      expectCodecError(
        () => decodeRecord(encodeRecord(entry({ lastModified: bad }))),
        /lastModified/
      )
    }
    for (const bad of ['a\tb', 'a\nb', 'a\u0000', 'a\u007f', '\u0085ok'.slice(1) + '\u001f']) {
      expectCodecError(() => decodeRecord(encodeRecord(entry({ tags: ['ok', bad] }))), /tag/)
    }
    const tabbed = entry({ etag: '"a\tb"', lastModified: 'Sun,\t22 Nov 2026 10:00:00 GMT' })
    expect(roundTrip(tabbed)).toEqual(tabbed)
  })

  it('a vary index naming a header that is not a token', () => {
    for (const name of ['', 'accept language', 'a\nb', 'a:b']) {
      expectCodecError(
        () => decodeRecord(encodeRecord({ ...index, headerNames: ['accept', name] })),
        /header name .* not a token/
      )
    }
  })

  it('a variant that does not start with a newline, or more variants than any config keeps', () => {
    // Names ['abc'], variants ['\nx']: variant count at 31, its length at 35, its first byte at 39.
    const one = encodeRecord({ ...index, headerNames: ['abc'], variants: ['\nx'] })
    expect(one[39]).toBe(0x0a)
    expectCodecError(
      () => decodeRecord(patched(one, (v) => v.setUint8(39, 0x2f))),
      /variant .* does not start with/
    )
    const full = encodeRecord({
      ...index,
      headerNames: [],
      variants: Array.from({ length: 1024 }, () => '\n'),
    })
    const over = new Uint8Array(full.byteLength + 5)
    over.set(full)
    over.set([0, 0, 0, 1, 0x0a], full.byteLength)
    expect(() => decodeRecord(full)).not.toThrow()
    expectCodecError(
      () => decodeRecord(patched(over, (v) => v.setUint32(24, 1025))),
      /variant count 1025 over 1024/
    )
  })

  it('accepts what the runtime serves: upper-case tokens, HTAB in values, empty values', () => {
    const lenient = entry({
      headers: [
        ['X-Upper', 'v'],
        ["!#$%&'*+-.^_`|~09az", 'x'],
        ['x-tab', 'a\tb'],
        ['x-empty', ''],
      ],
      etag: '"v1"',
    })
    const decoded = roundTrip(lenient)
    expect(decoded).toEqual(lenient)
    expect(() => serveAll(decoded)).not.toThrow()
  })
})

const NOW = 1_763_890_000_000
const NULL_BODY_STATUS = new Set([204, 205, 304])

/** Everything the Worker does with a decoded record on a hit: none of it may throw. */
function serveAll(record: StoredRecord): void {
  if (record.kind === 'vary-index') {
    const request = new Headers(record.headerNames.map((name): [string, string] => [name, 'v']))
    variantKey('/k', record.headerNames, request)
    return
  }
  const headers = record.headers as Array<[string, string]>
  const body = NULL_BODY_STATUS.has(record.status) ? null : record.body
  new Response(body, { status: record.status, headers })
  for (const method of ['GET', 'HEAD']) {
    const options = {
      cacheName: 'edge-cache',
      method,
      status: { hit: true as const, ttl: 1 },
      now: NOW,
    }
    responseFromEntry(record, options)
    responseFromEntry(record, { ...options, notModified: true })
  }
  new Headers(revalidationHeaders(record))
}

/** Decodes to a record that serves without throwing, or throws EntryCodecError: nothing else. */
function servesOrRefuses(bytes: Uint8Array): boolean {
  let record: StoredRecord
  try {
    record = decodeRecord(bytes)
  } catch (error) {
    if (error instanceof EntryCodecError) return true
    throw error
  }
  serveAll(record)
  return true
}

/** `text` with every code point `bad` refuses replaced by a space. */
const without = (bad: (code: number) => boolean) => (text: string) =>
  Array.from(text, (char) => (bad(char.codePointAt(0)!) ? ' ' : char)).join('')

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz".split('')
const tokenArb = fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: 16 })
/** Any code point: tags and variants. */
const textArb = fc.string({ unit: 'binary', maxLength: 24 })
/**
 * Any ASCII character, controls included: what goes into a header. (workerd takes other code points as
 * UTF-8, with a warning per header; the fixed entry above covers them.)
 */
const asciiArb = fc.string({
  unit: fc.integer({ min: 0, max: 0x7f }).map((code) => String.fromCharCode(code)),
  maxLength: 24,
})
const fieldValueArb = asciiArb.map(without((c) => c === 0x00 || c === 0x0a || c === 0x0d))
const validatorArb = asciiArb.map(without((c) => (c < 0x20 && c !== 0x09) || c === 0x7f))
const tagArb = textArb.map(without((c) => c < 0x20 || c === 0x7f))
const timeArb = fc.double({ noNaN: true, noDefaultInfinity: true })
const u32Arb = fc.integer({ min: 0, max: 0xffff_ffff })

const entryArb: fc.Arbitrary<CacheEntry> = fc.record({
  kind: fc.constant('response' as const),
  status: fc.integer({ min: 200, max: 599 }),
  headers: fc.array(fc.tuple(tokenArb, fieldValueArb), { maxLength: 6 }),
  body: fc.uint8Array({ maxLength: 64 }),
  storedAt: timeArb,
  initialAgeSec: u32Arb,
  freshUntil: timeArb,
  staleWhileRevalidateUntil: timeArb,
  staleIfErrorUntil: timeArb,
  mustRevalidate: fc.boolean(),
  etag: fc.option(validatorArb, { nil: undefined }),
  lastModified: fc.option(validatorArb, { nil: undefined }),
  tags: fc.array(tagArb, { maxLength: 5 }),
  fetchMs: u32Arb,
})

const indexArb: fc.Arbitrary<VaryIndex> = fc.record({
  kind: fc.constant('vary-index' as const),
  headerNames: fc.array(tokenArb, { maxLength: 4 }),
  createdAt: timeArb,
  expiresAt: timeArb,
  variants: fc.array(
    textArb.map((text) => `\n${text}`),
    { maxLength: 6 }
  ),
})

const recordArb: fc.Arbitrary<StoredRecord> = fc.oneof(entryArb, indexArb)

type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly xor: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'append'; readonly bytes: Uint8Array }

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('flip' as const),
    at: fc.nat(),
    xor: fc.integer({ min: 1, max: 255 }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('append' as const),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
  })
)

function mutate(bytes: Uint8Array, mutation: Mutation): Uint8Array {
  switch (mutation.kind) {
    case 'flip': {
      const copy = bytes.slice()
      copy[mutation.at % copy.byteLength]! ^= mutation.xor
      return copy
    }
    case 'truncate':
      return bytes.subarray(0, mutation.at % bytes.byteLength)
    case 'append': {
      const longer = new Uint8Array(bytes.byteLength + mutation.bytes.byteLength)
      longer.set(bytes)
      longer.set(mutation.bytes, bytes.byteLength)
      return longer
    }
  }
}

describe('encodeHead / decodeHead (L1 keeps the body apart)', () => {
  it('round-trips a response without its body bytes, keeping the body length', () => {
    const { body, ...head } = entry()
    const bytes = encodeHead(entry())
    expect(bytes.byteLength).toBe(encodeRecord(entry()).byteLength - body.byteLength)
    expect(decodeHead(bytes)).toEqual({ kind: 'response', head, bodyLength: body.byteLength })
  })

  it('writes an index as encodeRecord does', () => {
    expect(encodeHead(index)).toEqual(encodeRecord(index))
    expect(decodeHead(encodeHead(index))).toEqual({ kind: 'vary-index', index })
  })

  it('never reads a head as a record nor a record as a head', () => {
    expectCodecError(() => decodeRecord(encodeHead(entry())), /kind 2/)
    expectCodecError(() => decodeHead(encodeRecord(entry())), /kind 0/)
    expectCodecError(() => decodeHead(encodeRecord(entry({ body: new Uint8Array(0) }))), /kind 0/)
  })

  it('throws on every truncation and on trailing bytes', () => {
    const bytes = encodeHead(entry())
    for (let length = 0; length < bytes.byteLength; length++) {
      expectCodecError(() => decodeHead(bytes.subarray(0, length)))
    }
    const longer = new Uint8Array(bytes.byteLength + 1)
    longer.set(bytes)
    expectCodecError(() => decodeHead(longer), /trailing/)
  })

  it('refuses the values decodeRecord refuses', () => {
    expectCodecError(
      () => decodeHead(patched(encodeHead(entry()), (v) => v.setUint16(5, 999))),
      /status 999/
    )
    const evil = entry({ headers: [['x-evil', 'a\r\nb']] })
    expectCodecError(() => decodeHead(encodeHead(evil)), /NUL, CR or LF/)
    // A head is version 2 only.
    expectCodecError(() => decodeHead(patched(encodeHead(entry()), (v) => v.setUint8(2, 1))))
  })
})

describe('entry codec properties (fast-check)', () => {
  const runs = { numRuns: 300 }

  it('round-trips any valid record to an equal one, which serves', () => {
    fc.assert(
      fc.property(recordArb, (record) => {
        const decoded = decodeRecord(encodeRecord(record))
        expect(decoded).toEqual(record)
        serveAll(decoded)
      }),
      runs
    )
  })

  it('random bytes decode to a servable record or throw EntryCodecError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 128 }), servesOrRefuses), runs)
    // Past the magic: a valid preamble (either version, either kind) then random bytes.
    const preambled = fc
      .tuple(fc.constantFrom(1, 2), fc.constantFrom(0, 1), fc.uint8Array({ maxLength: 128 }))
      .map(([version, kind, rest]) => Uint8Array.from([0x45, 0x43, version, kind, ...rest]))
    fc.assert(fc.property(preambled, servesOrRefuses), runs)
  })

  it('a mutated head decodes to one whose record serves, or throws EntryCodecError', () => {
    fc.assert(
      fc.property(
        recordArb,
        fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
        (record, mutations) => {
          let decoded
          try {
            decoded = decodeHead(mutations.reduce(mutate, encodeHead(record)))
          } catch (error) {
            expect(error).toBeInstanceOf(EntryCodecError)
            return
          }
          serveAll(
            decoded.kind === 'response'
              ? { ...decoded.head, body: new Uint8Array(Math.min(decoded.bodyLength, 64)) }
              : decoded.index
          )
        }
      ),
      runs
    )
  })

  it('a mutated valid encoding (flipped byte, truncated, appended) serves or throws EntryCodecError', () => {
    fc.assert(
      fc.property(
        recordArb,
        fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
        (record, mutations) => servesOrRefuses(mutations.reduce(mutate, encodeRecord(record)))
      ),
      runs
    )
  })
})
