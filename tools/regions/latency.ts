/**
 * The local geography: one-way network delays (ms) between simulated regions, looked up as
 * `matrix[clientRegion][region]`.
 */

export type LatencyMatrix = Record<string, Record<string, number>>

export const DEFAULT_REGION_NAMES: readonly string[] = ['us-east', 'eu-west', 'ap-south']

/**
 * Half the usual public round trips between Virginia, Ireland and Mumbai-ish locations
 * (~80, ~200, ~120 ms), and 1 ms inside a region.
 */
export const DEFAULT_LATENCY_MS: LatencyMatrix = {
  'us-east': { 'us-east': 1, 'eu-west': 40, 'ap-south': 100 },
  'eu-west': { 'us-east': 40, 'eu-west': 1, 'ap-south': 60 },
  'ap-south': { 'us-east': 100, 'eu-west': 60, 'ap-south': 1 },
}

/**
 * The full matrix between `names`, every delay times `scale`. A pair given in one direction only
 * is taken as symmetric; a missing pair throws (a silent 0 would make far regions look near).
 */
export function latencyMatrix(
  names: readonly string[],
  scale = 1,
  base: LatencyMatrix = DEFAULT_LATENCY_MS
): LatencyMatrix {
  if (!Number.isFinite(scale) || scale < 0) {
    throw new RangeError(`latencyScale must be a finite number >= 0, got ${scale}`)
  }
  const matrix: LatencyMatrix = {}
  for (const from of names) {
    const row: Record<string, number> = {}
    for (const to of names) {
      const ms = base[from]?.[to] ?? base[to]?.[from]
      if (ms === undefined) throw new Error(`no latency given between ${from} and ${to}`)
      if (!Number.isFinite(ms) || ms < 0) {
        throw new RangeError(`latency ${from} → ${to} must be a finite number >= 0, got ${ms}`)
      }
      row[to] = ms * scale
    }
    matrix[from] = row
  }
  return matrix
}

/** Each client region's one-way delay to `region`: the column the region's endpoint sleeps by. */
export function latencyTo(matrix: LatencyMatrix, region: string): Record<string, number> {
  return Object.fromEntries(Object.entries(matrix).map(([from, row]) => [from, row[region]!]))
}
