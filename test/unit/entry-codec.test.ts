import { describe, expect, it } from 'vitest'
import type { CacheEntry, StoredRecord, VaryIndex } from '../../src/cache/entry'
import { decodeRecord, encodeRecord, EntryCodecError } from '../../src/cache/entry-codec'

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
  })

  it('allocates exactly the encoded size', () => {
    const bytes = encodeRecord(entry())
    expect(bytes.byteOffset).toBe(0)
    expect(bytes.buffer.byteLength).toBe(bytes.byteLength)
  })

  it('starts with the magic, version and kind', () => {
    expect(Array.from(encodeRecord(entry()).subarray(0, 4))).toEqual([0x45, 0x43, 1, 0])
    expect(Array.from(encodeRecord(index).subarray(0, 4))).toEqual([0x45, 0x43, 1, 1])
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

  it('refuses to encode a status outside u16', () => {
    expectCodecError(() => encodeRecord(entry({ status: 70_000 })), /status/)
    expectCodecError(() => encodeRecord(entry({ status: 200.5 })), /status/)
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
    expectCodecError(() => decodeRecord(patched(bytes, (v) => v.setUint8(2, 2))), /version 2/)
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
