import { hash64 } from '../coalesce/shard'

/** Header of a serialised filter: magic, bit count and hash count (then the bits). */
const MAGIC = 0x42_4c_4d_31 // "BLM1"
const HEADER_BYTES = 12
/** 2^31 bits (256 MiB) at most: far past any configured id count's need, and a typed array's limit. */
const MAX_BITS = 2 ** 31

export class BloomFormatError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'BloomFormatError'
  }
}

/**
 * A Bloom filter (Bloom, 1970) over strings: no false negatives; false positives at about the rate it
 * was sized for (m = −n·ln p / ln²2 bits, k = m/n·ln 2 hashes). The k positions come from one 64-bit
 * hash by double hashing (Kirsch & Mitzenmacher, 2006).
 */
export class BloomFilter {
  private constructor(
    readonly bits: number,
    readonly hashes: number,
    private readonly words: Uint32Array
  ) {}

  /** A filter for `n` members at false-positive rate `p`. */
  static sized(n: number, p: number): BloomFilter {
    const members = Math.max(1, Math.ceil(n))
    const bits = Math.min(
      MAX_BITS,
      Math.max(64, Math.ceil((-members * Math.log(p)) / Math.LN2 ** 2))
    )
    const hashes = Math.max(1, Math.min(30, Math.round((bits / members) * Math.LN2)))
    return new BloomFilter(bits, hashes, new Uint32Array(Math.ceil(bits / 32)))
  }

  static of(members: Iterable<string>, count: number, p: number): BloomFilter {
    const filter = BloomFilter.sized(count, p)
    for (const member of members) filter.add(member)
    return filter
  }

  /** Whether every one of the member's k bits passes `test` (stops at the first that does not). */
  #every(member: string, test: (word: number, mask: number) => boolean): boolean {
    const h = hash64(member)
    const h1 = Number(h & 0xffffffffn)
    const h2 = Number(h >> 32n) | 1
    for (let i = 0; i < this.hashes; i++) {
      const bit = ((h1 + Math.imul(i, h2)) >>> 0) % this.bits
      if (!test(bit >>> 5, 1 << (bit & 31))) return false
    }
    return true
  }

  add(member: string): void {
    this.#every(member, (word, mask) => {
      this.words[word]! |= mask
      return true
    })
  }

  /** False: certainly not a member. True: a member, or a false positive. */
  mightContain(member: string): boolean {
    return this.#every(member, (word, mask) => (this.words[word]! & mask) !== 0)
  }

  toBytes(): Uint8Array {
    const out = new Uint8Array(HEADER_BYTES + this.words.byteLength)
    const view = new DataView(out.buffer)
    view.setUint32(0, MAGIC)
    view.setUint32(4, this.bits)
    view.setUint32(8, this.hashes)
    out.set(new Uint8Array(this.words.buffer, this.words.byteOffset, this.words.byteLength), 12)
    return out
  }

  /** Reads `toBytes()` output; anything else is a BloomFormatError (never a filter that lies). */
  static fromBytes(bytes: Uint8Array): BloomFilter {
    if (bytes.byteLength < HEADER_BYTES) throw new BloomFormatError('too short')
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    if (view.getUint32(0) !== MAGIC) throw new BloomFormatError('not a filter')
    const bits = view.getUint32(4)
    const hashes = view.getUint32(8)
    if (bits < 1 || bits > MAX_BITS || hashes < 1 || hashes > 30)
      throw new BloomFormatError('bad sizes')
    const length = Math.ceil(bits / 32) * 4
    if (bytes.byteLength !== HEADER_BYTES + length) throw new BloomFormatError('bad length')
    const words = new Uint32Array(length / 4)
    new Uint8Array(words.buffer).set(bytes.subarray(HEADER_BYTES))
    return new BloomFilter(bits, hashes, words)
  }
}
