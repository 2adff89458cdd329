/**
 * A per-key request-rate estimate in fixed memory: a count-min sketch (Cormode & Muthukrishnan, 2005)
 * with conservative update (Estan & Varghese, 2002) and forward exponential decay (Cormode, Shkapenyuk,
 * Srivastava & Xu, 2009). Memory is `depth × width` doubles whatever the number of keys.
 *
 * What it measures: requests per minute, exponentially weighted with a half-life (a steady rate r
 * reads as r once it has run for a few half-lives; it reads low while it warms up). Collisions can
 * only make a key look hotter than it is, never colder, by at most about e/width of all the requests
 * counted (with probability 1 − e^−depth); a conservative update keeps that much lower in practice.
 */
export interface PopularityEstimator {
  /** Counts `weight` requests for the key with this hash (see `keyHash`) at `now` (epoch ms). */
  add(hash: number, weight: number, now: number): void
  /** The key's estimated requests per minute at `now`. */
  perMinute(hash: number, now: number): number
  /** Bytes held: fixed at creation. */
  readonly bytes: number
}

export interface EstimatorOptions {
  readonly halfLifeMs: number
  /** Counters per row (a power of two). */
  readonly width?: number
  /** Rows, each with its own hash of the key. */
  readonly depth?: number
}

/** Past this exponent the stored weights are rescaled to a new landmark (e^700 is near Number.MAX). */
const RESCALE_EXPONENT = 600

export function createPopularityEstimator(options: EstimatorOptions): PopularityEstimator {
  const width = options.width ?? 1024
  const depth = options.depth ?? 4
  if (!Number.isInteger(Math.log2(width))) throw new RangeError('width must be a power of two')
  const decay = Math.LN2 / options.halfLifeMs
  const cells = new Float64Array(width * depth)
  const slots = new Int32Array(depth)
  // Forward decay: a request at t weighs e^{decay·(t − landmark)}; dividing by e^{decay·(now −
  // landmark)} at read time gives the decayed count without touching every counter on each tick.
  let landmark = 0

  function index(hash: number): void {
    // Kirsch–Mitzenmacher: row i hashes to h1 + i·h2, from the two halves of the 53-bit key hash.
    const h1 = hash >>> 0
    const h2 = (Math.floor(hash / 2 ** 32) | 1) >>> 0
    for (let row = 0; row < depth; row++)
      slots[row] = row * width + (((h1 + Math.imul(row, h2)) >>> 0) & (width - 1))
  }

  function rescale(now: number): void {
    const factor = Math.exp(-decay * (now - landmark))
    for (let i = 0; i < cells.length; i++) cells[i]! *= factor
    landmark = now
  }

  function minimum(): number {
    let min = Infinity
    for (let row = 0; row < depth; row++) min = Math.min(min, cells[slots[row]!]!)
    return min
  }

  return {
    bytes: cells.byteLength,
    add(hash, weight, now) {
      if (!(weight > 0)) return
      if (landmark === 0) landmark = now
      if (decay * (now - landmark) > RESCALE_EXPONENT) rescale(now)
      index(hash)
      // Conservative update: raise each counter only as far as the key's new estimate needs.
      const target = minimum() + weight * Math.exp(decay * (now - landmark))
      for (let row = 0; row < depth; row++) {
        const slot = slots[row]!
        if (cells[slot]! < target) cells[slot] = target
      }
    },
    perMinute(hash, now) {
      if (landmark === 0) return 0
      index(hash)
      // The decayed count over the mean lifetime of a count (1/decay) is the rate.
      const count = minimum() * Math.exp(-decay * (now - landmark))
      return count * decay * 60_000
    },
  }
}

/** Most requests one report may add (a sanity bound on what a caller sends, not a rate limit). */
const MAX_WEIGHT = 1_000_000

/**
 * One estimator per half-life the routes ask for (at most `max`, else they start afresh): what a
 * filler keeps, the Coalescer object for its shard or an isolate for its own direct fills.
 */
export class PopularityBook {
  readonly #byHalfLife = new Map<number, PopularityEstimator>()

  constructor(readonly max = 4) {}

  /**
   * Counts `hits` requests for the key (at least the asking one; a forged or corrupt count is
   * bounded) and returns its rate in requests per minute.
   */
  count(hash: number, hits: number, halfLifeSeconds: number, now: number): number {
    let estimator = this.#byHalfLife.get(halfLifeSeconds)
    if (!estimator) {
      if (this.#byHalfLife.size >= this.max) this.#byHalfLife.clear()
      estimator = createPopularityEstimator({ halfLifeMs: halfLifeSeconds * 1000 })
      this.#byHalfLife.set(halfLifeSeconds, estimator)
    }
    const weight = Number.isFinite(hits) ? Math.min(Math.max(1, hits), MAX_WEIGHT) : 1
    estimator.add(hash, weight, now)
    return estimator.perMinute(hash, now)
  }

  perMinute(hash: number, halfLifeSeconds: number, now: number): number {
    return this.#byHalfLife.get(halfLifeSeconds)?.perMinute(hash, now) ?? 0
  }

  /** Bytes held by every estimator: each is fixed in size, so at most `max` times one. */
  get bytes(): number {
    let bytes = 0
    for (const estimator of this.#byHalfLife.values()) bytes += estimator.bytes
    return bytes
  }
}
