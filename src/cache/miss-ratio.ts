/** Lookups remembered: the hint follows a change of traffic within this many. */
const WINDOW = 64
/** Lookups seen before the hint may say anything (a new colo knows nothing yet). */
const MIN_SAMPLES = 16
/**
 * The share of misses over which the next tier is read ahead. Each read-ahead that the tier answers
 * after all costs one wasted L2 GET: at 3/4 misses, at most one GET for every three that were due.
 */
const THRESHOLD = 0.75

/**
 * How often one colo's tier missed over its last lookups, in fixed memory (a ring of WINDOW
 * outcomes): the per-colo hint that its L1 mostly misses, so that a memory miss reads L2 together
 * with L1 instead of after it. It counts this isolate's own lookups of this colo's tier only, so it is
 * as honest in production (each colo's isolates, each its own count) as in the simulation (one
 * isolate, one count per simulated colo). Keys are not remembered: nothing grows with traffic.
 */
export class MissRatio {
  readonly #ring = new Uint8Array(WINDOW)
  /** Outcomes in the ring (up to WINDOW), the next slot to write, and the misses among them. */
  #count = 0
  #next = 0
  #misses = 0

  /** One lookup's outcome. */
  record(hit: boolean): void {
    const miss = hit ? 0 : 1
    if (this.#count === WINDOW) this.#misses -= this.#ring[this.#next]!
    else this.#count++
    this.#ring[this.#next] = miss
    this.#misses += miss
    this.#next = (this.#next + 1) % WINDOW
  }

  /** The share of misses over the last lookups (0 before any). */
  get ratio(): number {
    return this.#count === 0 ? 0 : this.#misses / this.#count
  }

  /** Whether the tier mostly misses lately: worth reading the next tier at the same time. */
  likelyMiss(): boolean {
    return this.#count >= MIN_SAMPLES && this.ratio >= THRESHOLD
  }
}
