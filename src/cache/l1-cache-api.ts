import { base64ToBytes, bytesToBase64 } from '../l2/base64'
import { BoundedMemo } from '../lib/bounded-memo'
import type { MetricsAccumulator } from '../metrics/accumulator'
import {
  type CacheEntry,
  type LazyBody,
  type ReadRecord,
  type StoredRecord,
  withBytes,
} from './entry'
import { decodeHead, encodeHead, EntryCodecError, type DecodedHead } from './entry-codec'
import type { CacheTier } from './tier'

const CONTENT_TYPE = 'application/vnd.edge-cache.body'
/** The container field holding the record's head (entry-codec.ts, kind 2 or an index), as base64. */
export const L1_HEAD_FIELD = 'x-edge-cache-head'
/**
 * Largest head written, as base64 characters: a record with more fields or tags than this is not
 * kept in L1 (memory and L2 still keep it) rather than risk a response header the Cache API refuses.
 */
const MAX_HEAD_FIELD = 32 * 1024

const EMPTY = new Uint8Array(0)

/** Heads kept decoded, by their field's text: 256 fields of at most 4 KiB (~1 MiB of text). */
const decodedHeads = new BoundedMemo<DecodedHead>(256, 4096)

/**
 * The head a field holds, decoded once per isolate for a hot copy: the field's text is the whole
 * input of the decoding, so equal text is an equal head. Shared between requests, hence frozen.
 */
function decodeHeadField(field: string): DecodedHead {
  return (
    decodedHeads.get(field) ??
    decodedHeads.remember(field, deepFreeze(decodeHead(base64ToBytes(field))))
  )
}

function deepFreeze<T>(value: T): T {
  if (
    typeof value === 'object' &&
    value !== null &&
    !ArrayBuffer.isView(value) &&
    !Object.isFrozen(value)
  ) {
    Object.freeze(value)
    for (const inner of Object.values(value)) deepFreeze(inner)
  }
  return value
}

/** The Cache API container of `record`: its body as the body, its head in a field. */
export function l1Container(record: StoredRecord, ttlSeconds: number): Response | undefined {
  const head = bytesToBase64(encodeHead(record))
  if (head.length > MAX_HEAD_FIELD) return undefined
  const body = record.kind === 'response' ? record.body : EMPTY
  return new Response(body, {
    headers: {
      'content-type': CONTENT_TYPE,
      'cache-control': `public, max-age=${ttlSeconds}`,
      [L1_HEAD_FIELD]: head,
    },
  })
}

/**
 * A hit's body as the Cache API holds it: its stream goes to the first response untouched; bytes are
 * read only when asked (a copy into the memory tier, a range, a revalidation). Once the stream went
 * out, bytes come from a second read of the same copy (`reread`: its head must be the same).
 */
class CacheApiBody implements LazyBody {
  #response: Response | undefined
  #bytes: Promise<Uint8Array> | undefined

  constructor(
    response: Response,
    readonly byteLength: number,
    private readonly reread: () => Promise<Response | undefined>
  ) {
    this.#response = response
  }

  take(): ReadableStream<Uint8Array> | Promise<Uint8Array> {
    const body = this.#bytes === undefined ? this.#response?.body : undefined
    if (body) {
      this.#response = undefined
      return body
    }
    return this.bytes()
  }

  bytes(): Promise<Uint8Array> {
    return (this.#bytes ??= this.#read())
  }

  async #read(): Promise<Uint8Array> {
    const response = this.#response ?? (await this.reread())
    this.#response = undefined
    if (response === undefined) throw new EntryCodecError('the L1 copy is gone or was replaced')
    const bytes = new Uint8Array(await response.arrayBuffer())
    if (bytes.byteLength !== this.byteLength) {
      throw new EntryCodecError(
        `L1 body of ${bytes.byteLength} bytes, its head says ${this.byteLength}`
      )
    }
    return bytes
  }
}

/**
 * An L2 hit's copy into L1 starts this long after the hit is answered (the memory tier's copy is at
 * once). A Cache API write runs on the Worker's own thread under wrangler dev, and its work held the
 * answer back: L2 hits took 11.5 ms p50 with the copy at once and 8.6 ms with it 2 ms later or with
 * no copy at all (tier-stack experiment, one request at a time). Nothing waits for L1 meanwhile: the
 * memory tier answers the next requests in this isolate.
 */
const L1_COPY_DELAY_MS = 5

/**
 * L1 on the Workers Cache API (one per colo in production). The Cache API only sees an opaque
 * container: the stored body as its body, the rest of the record (entry-codec.ts's head) in a field,
 * and a max-age equal to the record's hard TTL; what the client gets is computed from the record,
 * never from these container headers. A hit reads only the head: the body streams from the Cache API
 * to the client without a copy in JS (respond.ts). The container has no Content-Encoding, so the
 * Cache API neither codes nor decodes it: a stored body's own coding (gzip bytes from the origin)
 * and its length travel untouched (the length is in the head, checked against the container's).
 *
 * `keyOrigin` makes the Cache API URL (`${keyOrigin}/${encoded key}`): on Cloudflare it should be a
 * hostname of the zone the Worker runs on.
 */
export function createCacheApiTier(
  cacheName: string,
  keyOrigin: string,
  /** Where corrupt records are counted (the isolate's metrics). */
  counters?: Pick<MetricsAccumulator, 'increment'>
): CacheTier {
  let opened: Promise<Cache> | undefined
  const open = () => (opened ??= caches.open(cacheName))
  const urlFor = (key: string) => `${keyOrigin}/${encodeURIComponent(key)}`

  /** The record at `key`, its body left in the Cache API; a container we cannot read is dropped. */
  async function read(key: string): Promise<ReadRecord | undefined> {
    const cache = await open()
    const response = await cache.match(urlFor(key))
    if (!response) return undefined
    try {
      return fromContainer(response, () => again(cache, key, response.headers.get(L1_HEAD_FIELD)))
    } catch (error) {
      // A record we cannot read (another format, corruption, invalid values) is a miss, and is
      // dropped (best effort: a failed delete leaves it to its max-age).
      if (isUnreadable(error)) {
        void response.body?.cancel().catch(() => {})
        counters?.increment('corrupt_entries_total', { tier: 'L1' })
        await cache.delete(urlFor(key)).catch(() => false)
        return undefined
      }
      throw error
    }
  }

  /** The same copy read again (its head unchanged), or undefined. */
  async function again(cache: Cache, key: string, head: string | null) {
    const response = await cache.match(urlFor(key))
    if (response && response.headers.get(L1_HEAD_FIELD) === head) return response
    void response?.body?.cancel().catch(() => {})
    return undefined
  }

  return {
    name: 'L1',
    copyDelayMs: L1_COPY_DELAY_MS,
    async get(key) {
      const record = await read(key)
      return record === undefined || record.kind === 'vary-index' ? record : withBytes(record)
    },
    async lookup(key) {
      const record = await read(key)
      return record && { record, tier: 'L1' }
    },
    async set(key, record: StoredRecord, expiresAt) {
      const ttl = Math.floor((expiresAt - Date.now()) / 1000)
      if (ttl <= 0) return
      const container = l1Container(record, ttl)
      if (container === undefined) return
      const cache = await open()
      await cache.put(urlFor(key), container)
    },
    async delete(key) {
      const cache = await open()
      return cache.delete(urlFor(key))
    },
  }
}

/** The record a container holds; throws what isUnreadable names when it is not one of ours. */
function fromContainer(
  response: Response,
  reread: () => Promise<Response | undefined>
): ReadRecord {
  const field = response.headers.get(L1_HEAD_FIELD)
  if (field === null) throw new EntryCodecError('no head field: not a container of this format')
  const decoded = decodeHeadField(field)
  if (decoded.kind === 'vary-index') {
    void response.body?.cancel().catch(() => {})
    return decoded.index
  }
  const { head, bodyLength } = decoded
  const length = response.headers.get('content-length')
  if (length !== null && length !== String(bodyLength)) {
    throw new EntryCodecError(`container of ${length} bytes, its head says ${bodyLength}`)
  }
  if (bodyLength === 0) {
    void response.body?.cancel().catch(() => {})
    const entry: CacheEntry = { ...head, body: EMPTY }
    return entry
  }
  return { ...head, body: new CacheApiBody(response, bodyLength, reread) }
}

/** Bad base64 (SyntaxError natively, DOMException from atob) or a head the codec refuses. */
function isUnreadable(error: unknown): boolean {
  return (
    error instanceof EntryCodecError ||
    error instanceof SyntaxError ||
    error instanceof DOMException
  )
}
