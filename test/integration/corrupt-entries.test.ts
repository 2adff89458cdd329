import { describe, expect, it } from 'vitest'
import type { CacheEntry } from '../../src/cache/entry'
import { decodeRecord, encodeRecord } from '../../src/cache/entry-codec'
import { delta, parseExposition } from '../helpers/prometheus'
import { admin, envWithConfig, originStats, send } from '../helpers/worker'

// The memory tier off: every read reaches L1, where the records are planted.
const noMemory = envWithConfig((config) => {
  config.memory = { maxEntries: 0 }
})
const get = (path: string, init?: RequestInit) => send(path, init, undefined, noMemory)

/** L1 as request-tiers.ts builds it without L2: cache `cacheName`, URL `${worker origin}/${key}`. */
const L1_CACHE = 'edge-cache'
const l1Url = (key: string) => `https://cache.test/${encodeURIComponent(key)}`

async function l1Bytes(key: string): Promise<Uint8Array | undefined> {
  const response = await (await caches.open(L1_CACHE)).match(l1Url(key))
  return response ? new Uint8Array(await response.arrayBuffer()) : undefined
}

/** Writes `bytes` as the L1 record of `key`, as a corrupted store or another writer would. */
async function plant(key: string, bytes: Uint8Array): Promise<void> {
  const cache = await caches.open(L1_CACHE)
  await cache.put(
    l1Url(key),
    new Response(bytes, { headers: { 'cache-control': 'public, max-age=600' } })
  )
}

async function corruptCounts(): Promise<Map<string, number>> {
  const response = await admin('/metrics')
  expect(response.status).toBe(200)
  return parseExposition(await response.text()).values
}

/**
 * Fills `path`, replaces its L1 record at `key` with `spoil(valid bytes)`, and requests it again: the
 * answer must come from the origin, the record be replaced by a good one, and the counter move by one.
 */
async function expectRecovery(
  path: string,
  key: string,
  spoil: (bytes: Uint8Array) => Uint8Array,
  init?: RequestInit
): Promise<void> {
  const first = await get(path, init)
  expect(first.status).toBe(200)
  expect(first.headers.get('cache-status')).toContain('stored')
  const valid = await l1Bytes(key)
  expect(valid, `an L1 record at ${key}`).toBeDefined()
  await plant(key, spoil(valid!))
  const fetches = (await originStats()).fetches

  const before = await corruptCounts()
  const again = await get(path, init)
  expect(again.status).toBe(200)
  expect(again.headers.get('cache-status')).toContain('fwd=miss')
  expect(await again.text()).toBe(await first.text())
  expect((await originStats()).fetches).toBe(fetches + 1)
  expect(delta(before, await corruptCounts())).toMatchObject({
    'edge_cache_corrupt_entries_total{tier="L1"}': 1,
  })

  // The spoiled record is gone: L1 holds the refilled one, which serves the next request.
  const replaced = await l1Bytes(key)
  expect(replaced).toBeDefined()
  expect(() => decodeRecord(replaced!)).not.toThrow()
  const hit = await get(path, init)
  expect(hit.status).toBe(200)
  expect(hit.headers.get('cache-status')).toMatch(/hit; ttl=\d+; detail=L1$/)
}

function response(bytes: Uint8Array): CacheEntry {
  const record = decodeRecord(bytes)
  if (record.kind !== 'response') throw new Error('expected a response record')
  return record
}

describe('a corrupt or invalid L1 record is a miss, deleted and counted', () => {
  it('garbage and truncated bytes', async () => {
    await expectRecovery('/products/1', '/products/1', (bytes) => bytes.subarray(0, 20))
    await expectRecovery('/products/2', '/products/2', () =>
      Uint8Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff)
    )
  })

  it('a well-formed record with status 999', async () => {
    await expectRecovery('/products/3', '/products/3', (bytes) => {
      const copy = bytes.slice()
      // Status is the u16 after magic, version, kind and flags.
      new DataView(copy.buffer).setUint16(5, 999)
      return copy
    })
  })

  it('a well-formed record with a header value holding CR LF', async () => {
    await expectRecovery('/products/4', '/products/4', (bytes) => {
      const entry = response(bytes)
      return encodeRecord({
        ...entry,
        headers: [...entry.headers, ['x-evil', 'a\r\nset-cookie: x']],
      })
    })
  })

  it('a vary index naming a header that is not a token', async () => {
    // /search varies on accept-language (route key headers): L1 holds the index at the primary key.
    const init = { headers: { 'accept-language': 'de' } }
    await expectRecovery(
      '/search?q=tv',
      '/search?q=tv',
      (bytes) => {
        const index = decodeRecord(bytes)
        if (index.kind !== 'vary-index') throw new Error('expected a vary index')
        return encodeRecord({ ...index, headerNames: ['accept language'] })
      },
      init
    )
  })
})
