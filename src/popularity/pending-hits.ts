import { hash64 } from '../coalesce/shard'

/** A key's 53-bit hash, what the popularity structures index by (never the key itself). */
export function keyHash(primary: string): number {
  return Number(hash64(primary) >> 11n)
}

/**
 * Requests an isolate served per key since it last told a filler (its Coalescer object, or its own
 * estimator when it fills directly): hits never reach the Coalescer, so they ride on the next ask
 * for the key. At most `capacity` keys: past it the key waiting longest is dropped with its count,
 * which can only make a key look colder than it is, never hotter.
 */
export class PendingHits {
  readonly #counts = new Map<number, number>()

  constructor(readonly capacity = 4096) {}

  /** One request for the key. */
  count(hash: number): void {
    const counts = this.#counts
    const pending = counts.get(hash)
    if (pending !== undefined) {
      counts.set(hash, pending + 1)
      return
    }
    if (counts.size >= this.capacity) counts.delete(counts.keys().next().value!)
    counts.set(hash, 1)
  }

  /** The key's count since the last take (at least 1: the asking request), reset to none. */
  take(hash: number): number {
    const pending = this.#counts.get(hash) ?? 0
    this.#counts.delete(hash)
    return Math.max(1, pending)
  }

  get size(): number {
    return this.#counts.size
  }
}
