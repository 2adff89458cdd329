import type { MetricsAccumulator } from '../metrics/accumulator'
import type { StoredRecord } from './entry'
import { decodeRecord, encodeRecord, EntryCodecError } from './entry-codec'
import type { CacheTier } from './tier'

const CONTENT_TYPE = 'application/vnd.edge-cache.entry'

/**
 * L1 on the Workers Cache API (one per colo in production). The Cache API only sees an opaque
 * container: our encoded record as the body and a max-age equal to the record's hard TTL; what the
 * client gets is computed from the record, never from these container headers. The container has
 * no Content-Encoding, so the Cache API neither codes nor decodes it: a stored body's own coding
 * (gzip bytes from the origin) and its length travel inside the record untouched.
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

  return {
    name: 'L1',
    async get(key) {
      const cache = await open()
      const response = await cache.match(urlFor(key))
      if (!response) return undefined
      try {
        return decodeRecord(new Uint8Array(await response.arrayBuffer()))
      } catch (error) {
        // A record we cannot read (another format, corruption, invalid values) is a miss, and is
        // dropped (best effort: a failed delete leaves it to its max-age).
        if (error instanceof EntryCodecError) {
          counters?.increment('corrupt_entries_total', { tier: 'L1' })
          await cache.delete(urlFor(key)).catch(() => false)
          return undefined
        }
        throw error
      }
    },
    async set(key, record: StoredRecord, expiresAt) {
      const ttl = Math.floor((expiresAt - Date.now()) / 1000)
      if (ttl <= 0) return
      const cache = await open()
      await cache.put(
        urlFor(key),
        new Response(encodeRecord(record), {
          headers: { 'content-type': CONTENT_TYPE, 'cache-control': `public, max-age=${ttl}` },
        })
      )
    },
    async delete(key) {
      const cache = await open()
      return cache.delete(urlFor(key))
    },
  }
}
