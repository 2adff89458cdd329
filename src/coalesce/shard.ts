/**
 * Key → Coalescer shard. Jump consistent hash (Lamping & Veach, 2014): no ring to store, perfectly
 * balanced, and growing N → N+1 shards moves exactly the keys that land on the new shard, about
 * 1/(N+1) of them (test/unit/coalesce-shard.test.ts measures it).
 */

const MASK64 = (1n << 64n) - 1n
const LCG = 2862933555777941757n

/** A 64-bit hash of a string: cyrb53's two 32-bit lanes, combined. Fast and well mixed; not cryptographic. */
export function hash64(text: string): bigint {
  let h1 = 0xdeadbeef
  let h2 = 0x41c6ce57
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 2654435761)
    h2 = Math.imul(h2 ^ c, 1597334677)
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909)
  return (BigInt(h2 >>> 0) << 32n) | BigInt(h1 >>> 0)
}

/** Jump consistent hash: the bucket in [0, buckets) of a 64-bit key. */
export function jumpHash(key: bigint, buckets: number): number {
  if (!Number.isInteger(buckets) || buckets < 1) throw new RangeError('buckets must be ≥ 1')
  let b = -1
  let j = 0
  let k = key & MASK64
  while (j < buckets) {
    b = j
    k = (k * LCG + 1n) & MASK64
    j = Math.floor((b + 1) * (2 ** 31 / Number((k >> 33n) + 1n)))
  }
  return b
}

export function shardOf(key: string, shards: number): number {
  return jumpHash(hash64(key), shards)
}

/**
 * The Coalescer object's name for a key: `<domain>/<shard>`, the domain being the client's home region
 * (`domain = "region"`, with L2 on) or `global`.
 */
export function coalescerName(
  primary: string,
  settings: { readonly shards: number; readonly domain: 'global' | 'region' },
  home: string | undefined
): string {
  const domain = settings.domain === 'region' && home !== undefined ? home : 'global'
  return `${domain}/${shardOf(primary, settings.shards)}`
}
