import { describe, expect, it } from 'vitest'
import { decodeHead, decodeRecord, encodeHead, encodeRecord } from '../../src/cache/entry-codec'
import { L1_HEAD_FIELD } from '../../src/cache/l1-cache-api'
import { base64ToBytes, bytesToBase64 } from '../../src/l2/base64'
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

/** An L1 container: the record's head (entry-codec.ts) in a field, its body as the body. */
interface Container {
  readonly head: Uint8Array
  readonly body: Uint8Array
}

async function l1Container(key: string): Promise<Container | undefined> {
  const response = await (await caches.open(L1_CACHE)).match(l1Url(key))
  if (!response) return undefined
  const field = response.headers.get(L1_HEAD_FIELD)
  const body = new Uint8Array(await response.arrayBuffer())
  return { head: field === null ? new Uint8Array(0) : base64ToBytes(field), body }
}

/**
 * Writes a container at `key` as a corrupted store or another writer would: `head` in the field
 * (none when undefined), `body` as the body.
 */
async function plant(key: string, head: Uint8Array | undefined, body: Uint8Array): Promise<void> {
  const cache = await caches.open(L1_CACHE)
  const headers: Record<string, string> = { 'cache-control': 'public, max-age=600' }
  if (head !== undefined) headers[L1_HEAD_FIELD] = bytesToBase64(head)
  await cache.put(l1Url(key), new Response(body, { headers }))
}

async function corruptCounts(): Promise<Map<string, number>> {
  const response = await admin('/metrics')
  expect(response.status).toBe(200)
  return parseExposition(await response.text()).values
}

/**
 * Fills `path`, replaces its L1 container at `key` with `spoil(valid container)`, and requests it
 * again: the answer must come from the origin, the container be replaced by a good one, and the
 * counter move by one.
 */
async function expectRecovery(
  path: string,
  key: string,
  spoil: (valid: Container) => { readonly head: Uint8Array | undefined; readonly body: Uint8Array },
  init?: RequestInit
): Promise<void> {
  const first = await get(path, init)
  expect(first.status).toBe(200)
  expect(first.headers.get('cache-status')).toContain('stored')
  const valid = await l1Container(key)
  expect(valid, `an L1 container at ${key}`).toBeDefined()
  const spoiled = spoil(valid!)
  await plant(key, spoiled.head, spoiled.body)
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
  const replaced = await l1Container(key)
  expect(replaced).toBeDefined()
  expect(() => decodeHead(replaced!.head)).not.toThrow()
  const hit = await get(path, init)
  expect(hit.status).toBe(200)
  expect(hit.headers.get('cache-status')).toMatch(/hit; ttl=\d+; detail=L1$/)
}

describe('a corrupt or invalid L1 record is a miss, deleted and counted', () => {
  it('garbage and truncated bytes', async () => {
    await expectRecovery('/products/1', '/products/1', ({ head, body }) => ({
      head: head.subarray(0, 20),
      body,
    }))
    await expectRecovery('/products/2', '/products/2', ({ body }) => ({
      head: Uint8Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff),
      body,
    }))
  })

  it('a well-formed record with status 999', async () => {
    await expectRecovery('/products/3', '/products/3', ({ head, body }) => {
      const copy = head.slice()
      // Status is the u16 after magic, version, kind and flags.
      new DataView(copy.buffer).setUint16(5, 999)
      return { head: copy, body }
    })
  })

  it('a well-formed record with a header value holding CR LF', async () => {
    await expectRecovery('/products/4', '/products/4', ({ head, body }) => {
      const decoded = decodeHead(head)
      if (decoded.kind !== 'response') throw new Error('expected a response head')
      const entry = { ...decoded.head, body }
      return {
        head: encodeHead({
          ...entry,
          headers: [...entry.headers, ['x-evil', 'a\r\nset-cookie: x']],
        }),
        body,
      }
    })
  })

  it('a vary index naming a header that is not a token', async () => {
    // /search varies on accept-language (route key headers): L1 holds the index at the primary key.
    const init = { headers: { 'accept-language': 'de' } }
    await expectRecovery(
      '/search?q=tv',
      '/search?q=tv',
      ({ head, body }) => {
        const index = decodeRecord(head)
        if (index.kind !== 'vary-index') throw new Error('expected a vary index')
        return { head: encodeRecord({ ...index, headerNames: ['accept language'] }), body }
      },
      init
    )
  })

  it('a body whose length is not the one its head gives', async () => {
    await expectRecovery('/products/5', '/products/5', ({ head, body }) => ({
      head,
      body: body.subarray(0, body.byteLength - 1),
    }))
  })

  it('a whole response record as the body, or as the head: the former layout and a forgery', async () => {
    const whole = ({ head, body }: Container) => {
      const decoded = decodeHead(head)
      if (decoded.kind !== 'response') throw new Error('expected a response head')
      return encodeRecord({ ...decoded.head, body })
    }
    // The former layout: the encoded record as the body, no head field.
    await expectRecovery('/products/6', '/products/6', (valid) => ({
      head: undefined,
      body: whole(valid),
    }))
    // A complete record (kind 0) where a head (kind 2) belongs.
    await expectRecovery('/products/7', '/products/7', (valid) => ({
      head: whole(valid),
      body: valid.body,
    }))
  })
})
