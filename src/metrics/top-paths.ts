/**
 * The most requested paths, for scheduled warming (`warming.topKeys`), in bounded memory. Paths are
 * never labels or shown on an endpoint: they stay between the isolates, the Stats object and the
 * warming run, and nothing is recorded unless `warming.topKeys` is set.
 */

/** Paths an isolate tracks between two batches. */
export const PATHS_PER_ISOLATE = 128
/** Paths the Stats object keeps. */
export const PATHS_KEPT = 400
/** Longer paths are not tracked (nor warmed): the Stats object's list stays ~100 KB at most. */
export const MAX_TRACKED_PATH = 256
/** The Stats object's counts halve every 10 minutes: "most requested" means lately. */
export const PATH_HALF_LIFE_MS = 600_000

/**
 * Space-saving (Metwally, Agrawal & El Abbadi, 2005): `capacity` counters; a path not held takes the
 * smallest one over, with its count plus one, so every path requested more than 1/capacity of the
 * time is held, and a count overestimates by at most the count it took over. A repeat costs one Map
 * update; a new path once full, one pass over the counters.
 */
export class TopPaths {
  readonly #counts = new Map<string, number>()

  constructor(private readonly capacity: number = PATHS_PER_ISOLATE) {}

  add(path: string): void {
    if (path.length > MAX_TRACKED_PATH) return
    const known = this.#counts.get(path)
    if (known !== undefined) {
      this.#counts.set(path, known + 1)
      return
    }
    if (this.#counts.size < this.capacity) {
      this.#counts.set(path, 1)
      return
    }
    let victim = ''
    let least = Infinity
    for (const [held, count] of this.#counts) {
      if (count < least) [victim, least] = [held, count]
    }
    this.#counts.delete(victim)
    this.#counts.set(path, least + 1)
  }

  get size(): number {
    return this.#counts.size
  }

  /** The counts since the last drain, emptied. */
  drain(): Record<string, number> {
    const out = Object.fromEntries(this.#counts)
    this.#counts.clear()
    return out
  }
}

/**
 * Adds an isolate's counts into the Stats object's, after decaying those by the time since `at`
 * (half-life PATH_HALF_LIFE_MS); keeps the heaviest `PATHS_KEPT`. In place.
 */
export function mergeTopPaths(
  into: { at: number; counts: Record<string, number> },
  delta: Readonly<Record<string, number>>,
  now: number
): void {
  if (into.at > 0 && now > into.at) {
    const factor = Math.pow(0.5, (now - into.at) / PATH_HALF_LIFE_MS)
    for (const path of Object.keys(into.counts)) into.counts[path]! *= factor
  }
  into.at = Math.max(into.at, now)
  for (const [path, count] of Object.entries(delta)) {
    into.counts[path] = (into.counts[path] ?? 0) + count
  }
  const paths = Object.keys(into.counts)
  if (paths.length <= PATHS_KEPT) return
  const kept = heaviest(into.counts, PATHS_KEPT)
  into.counts = Object.fromEntries(kept.map((path) => [path, into.counts[path]!]))
}

/** The `n` paths with the largest counts, largest first (ties by path, for a stable order). */
export function heaviest(counts: Readonly<Record<string, number>>, n: number): string[] {
  return Object.keys(counts)
    .sort((a, b) => counts[b]! - counts[a]! || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, n)
}
