export interface FailureWindowOptions {
  /** Length of the sliding window. */
  readonly windowMs: number
  /** Share of the window's requests that must have failed (0..1). */
  readonly failureRatio: number
  /** Requests the window must have seen before a ratio means anything. */
  readonly minRequests: number
  /** Distinct keys among the failures: one key failing, however often, is that key's answer. */
  readonly minKeys: number
}

const BUCKETS = 10

interface Bucket {
  start: number
  total: number
  failures: number
  /** At most `minKeys` distinct failing keys: enough to know the threshold is met, bounded memory. */
  readonly failedKeys: Set<string>
}

/**
 * Failures over a sliding window (ten buckets), judged by ratio, volume and spread: it trips when
 * at least `failureRatio` of at least `minRequests` requests failed, across at least `minKeys`
 * distinct keys. One client hammering one failing URL can raise the ratio but never the spread.
 */
export class FailureWindow {
  readonly #buckets: Bucket[] = Array.from({ length: BUCKETS }, () => ({
    start: -Infinity,
    total: 0,
    failures: 0,
    failedKeys: new Set<string>(),
  }))
  readonly #bucketMs: number

  constructor(private readonly options: FailureWindowOptions) {
    this.#bucketMs = Math.max(1, Math.ceil(options.windowMs / BUCKETS))
  }

  record(now: number, key: string, failed: boolean): void {
    const bucket = this.#bucketAt(now)
    bucket.total++
    if (!failed) return
    bucket.failures++
    if (bucket.failedKeys.size < this.options.minKeys) bucket.failedKeys.add(key)
  }

  /** Whether the failures in the window amount to an outage. */
  tripped(now: number): boolean {
    const { windowMs, failureRatio, minRequests, minKeys } = this.options
    let total = 0
    let failures = 0
    const keys = new Set<string>()
    for (const bucket of this.#buckets) {
      if (now - bucket.start >= windowMs) continue
      total += bucket.total
      failures += bucket.failures
      for (const key of bucket.failedKeys) if (keys.size < minKeys) keys.add(key)
    }
    return total >= minRequests && failures >= total * failureRatio && keys.size >= minKeys
  }

  reset(): void {
    for (const bucket of this.#buckets) this.#clear(bucket, -Infinity)
  }

  #bucketAt(now: number): Bucket {
    const slot = Math.floor(now / this.#bucketMs)
    const bucket = this.#buckets[slot % BUCKETS]!
    const start = slot * this.#bucketMs
    if (bucket.start !== start) this.#clear(bucket, start)
    return bucket
  }

  #clear(bucket: Bucket, start: number): void {
    bucket.start = start
    bucket.total = 0
    bucket.failures = 0
    bucket.failedKeys.clear()
  }
}
