/**
 * The permits a RateLimiter object counts, by stamp, oldest first, as runs of equal stamps: a
 * lease's held permits share one stamp, so a window of `limit` permits costs one entry per grant
 * rather than one per permit, and persisting it after each call stays small for a high limit.
 */
export class StampLog {
  /** Distinct stamps, ascending, and how many permits carry each (always > 0). */
  private stamps: number[] = []
  private counts: number[] = []
  /** Permits in the log. */
  size = 0

  /** A log as `toStored` wrote it, or as earlier versions did (one sorted stamp per permit). */
  static from(stored: unknown): StampLog {
    const log = new StampLog()
    if (Array.isArray(stored)) {
      for (const stamp of stored) if (typeof stamp === 'number') log.insert(stamp, 1)
    } else if (isStored(stored)) {
      for (let i = 0; i < stored.s.length; i++) log.insert(stored.s[i]!, stored.c[i]!)
    }
    return log
  }

  toStored(): { readonly s: readonly number[]; readonly c: readonly number[] } {
    return { s: this.stamps, c: this.counts }
  }

  get oldest(): number | undefined {
    return this.stamps[0]
  }

  get newest(): number | undefined {
    return this.stamps.at(-1)
  }

  /** Counts `n` more permits stamped `stamp`. */
  insert(stamp: number, n: number): void {
    if (!(n > 0) || !Number.isFinite(stamp)) return
    const at = this.upperBound(stamp)
    if (at > 0 && this.stamps[at - 1] === stamp) this.counts[at - 1]! += n
    else {
      this.stamps.splice(at, 0, stamp)
      this.counts.splice(at, 0, n)
    }
    this.size += n
  }

  /** Drops every permit stamped at or before `since`; returns how many went. */
  expireThrough(since: number): number {
    const end = this.upperBound(since)
    if (end === 0) return 0
    let dropped = 0
    for (let i = 0; i < end; i++) dropped += this.counts[i]!
    this.stamps.splice(0, end)
    this.counts.splice(0, end)
    this.size -= dropped
    return dropped
  }

  /** Drops the oldest permits until at most `limit` remain; returns whether any went. */
  trimTo(limit: number): boolean {
    let excess = this.size - Math.max(0, limit)
    if (excess <= 0) return false
    this.size -= excess
    while (excess > 0) {
      const first = this.counts[0]!
      if (first > excess) {
        this.counts[0] = first - excess
        break
      }
      excess -= first
      this.stamps.shift()
      this.counts.shift()
    }
    return true
  }

  /** Removes up to `n` permits stamped exactly `stamp` (they are fungible); returns how many went. */
  remove(stamp: number, n: number): number {
    const at = this.upperBound(stamp) - 1
    if (at < 0 || this.stamps[at] !== stamp || !(n > 0)) return 0
    const removed = Math.min(Math.floor(n), this.counts[at]!)
    if (removed === this.counts[at]) {
      this.stamps.splice(at, 1)
      this.counts.splice(at, 1)
    } else this.counts[at]! -= removed
    this.size -= removed
    return removed
  }

  /** Removes one permit with the newest stamp; returns whether there was one. */
  popNewest(): boolean {
    const newest = this.newest
    return newest !== undefined && this.remove(newest, 1) === 1
  }

  /** First index whose stamp is greater than `value`. */
  private upperBound(value: number): number {
    let low = 0
    let high = this.stamps.length
    while (low < high) {
      const mid = (low + high) >>> 1
      if (this.stamps[mid]! <= value) low = mid + 1
      else high = mid
    }
    return low
  }
}

function isStored(value: unknown): value is { s: number[]; c: number[] } {
  if (typeof value !== 'object' || value === null) return false
  const { s, c } = value as { s?: unknown; c?: unknown }
  return (
    Array.isArray(s) &&
    Array.isArray(c) &&
    s.length === c.length &&
    s.every((x) => typeof x === 'number') &&
    c.every((x) => typeof x === 'number' && x > 0)
  )
}
