import { describe, expect, it } from 'vitest'
import { hasBytes, withBytes, type CacheEntry, type ReadRecord } from '../../src/cache/entry'
import { createCacheApiTier } from '../../src/cache/l1-cache-api'
import { createMemoryTier } from '../../src/cache/memory-tier'
import { createTierStack } from '../../src/cache/tier-stack'
import { responseEntry } from '../helpers/tier-fixtures'

const BODY = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff)

function entry(body: Uint8Array = BODY, storedAt = Date.now()): CacheEntry {
  return responseEntry(storedAt, {
    headers: [
      ['content-type', 'application/octet-stream'],
      ['content-encoding', 'gzip'],
    ],
    body,
    etag: '"v1"',
    tags: ['t'],
    fetchMs: 3,
  })
}

let cacheCount = 0
/** A tier on a cache of its own, so tests do not share entries. */
const l1 = () => createCacheApiTier(`l1-unit-${++cacheCount}`, 'https://cache.test')

function lazyEntry(record: ReadRecord | undefined) {
  if (record?.kind !== 'response' || hasBytes(record)) throw new Error('expected a lazy body')
  return record
}

async function drain(body: ReadableStream<Uint8Array> | Promise<Uint8Array>): Promise<Uint8Array> {
  return body instanceof Promise ? body : new Uint8Array(await new Response(body).arrayBuffer())
}

describe('L1 on the Cache API: the body stays in the cache until used', () => {
  it('a lookup reads the head only; the body streams out as stored', async () => {
    const tier = l1()
    await tier.set('k', entry(), Date.now() + 60_000)
    const found = lazyEntry((await tier.lookup!('k'))?.record)
    const { body, ...head } = found
    const { body: stored, ...expected } = entry(BODY, found.storedAt)
    expect(head).toEqual(expected)
    expect(body.byteLength).toBe(stored.byteLength)
    const taken = body.take()
    expect(taken).toBeInstanceOf(ReadableStream)
    expect(await drain(taken)).toEqual(BODY)
  })

  it('get reads the body into memory, as other tiers hand it out', async () => {
    const tier = l1()
    await tier.set('k', entry(), Date.now() + 60_000)
    const record = await tier.get('k')
    expect(record?.kind === 'response' && record.body).toEqual(BODY)
  })

  it('bytes asked first: every take gets them, no second read', async () => {
    const tier = l1()
    await tier.set('k', entry(), Date.now() + 60_000)
    const { body } = lazyEntry((await tier.lookup!('k'))?.record)
    const bytes = body.bytes()
    const taken = body.take()
    expect(taken).toBeInstanceOf(Promise)
    expect(await taken).toBe(await bytes)
    expect(await bytes).toEqual(BODY)
  })

  it('bytes after the stream went out: the same copy read again, refused once replaced', async () => {
    const tier = l1()
    await tier.set('k', entry(), Date.now() + 60_000)
    const first = lazyEntry((await tier.lookup!('k'))?.record)
    expect(await drain(first.body.take())).toEqual(BODY)
    expect(await first.body.bytes()).toEqual(BODY)

    const second = lazyEntry((await tier.lookup!('k'))?.record)
    expect(await drain(second.body.take())).toEqual(BODY)
    await tier.set('k', entry(BODY.slice().reverse(), second.storedAt + 1), Date.now() + 60_000)
    await expect(second.body.bytes()).rejects.toThrow(/gone or was replaced/)
  })

  it('an empty body and a vary index need no stream', async () => {
    const tier = l1()
    await tier.set('empty', entry(new Uint8Array(0)), Date.now() + 60_000)
    const empty = (await tier.lookup!('empty'))?.record
    expect(empty?.kind === 'response' && hasBytes(empty) && empty.body.byteLength).toBe(0)
    const index = {
      kind: 'vary-index',
      headerNames: ['accept-language'],
      createdAt: 1,
      expiresAt: Date.now() + 60_000,
      variants: ['\naccept-language:de'],
    } as const
    await tier.set('index', index, index.expiresAt)
    expect((await tier.lookup!('index'))?.record).toEqual(index)
  })

  it('a hit copied into the memory tier is read once: the hit then serves those bytes', async () => {
    const memory = createMemoryTier({ maxEntries: 10, maxBytes: 1 << 20, maxAgeMs: 60_000 })
    const tier = l1()
    const copies: Promise<unknown>[] = []
    const stack = createTierStack([memory, tier], { defer: (work) => void copies.push(work) })
    await tier.set('k', entry(), Date.now() + 60_000)
    const hit = await stack.read('k')
    expect(hit?.tier).toBe('L1')
    const found = lazyEntry(hit?.record)
    // The copy's read started before the hit was served: take() gets its bytes.
    const taken = found.body.take()
    expect(taken).toBeInstanceOf(Promise)
    expect(await taken).toEqual(BODY)
    await Promise.all(copies)
    const copied = await memory.get('k')
    expect(copied?.kind === 'response' && copied.body).toEqual(BODY)
    expect((await withBytes(found)).body).toEqual(BODY)
    expect((await stack.read('k'))?.tier).toBe('memory')
  })
})
