import { DurableObject } from 'cloudflare:workers'
import {
  emptySeries,
  mergeBreakers,
  mergeSeries,
  type SeriesSet,
  type StatsBatch,
  type StatsSnapshot,
  type StatsTotals,
  type TimelineBucket,
} from '../src/metrics/series'
import { heaviest, mergeTopPaths } from '../src/metrics/top-paths'

export type { StatsSnapshot, TimelineBucket } from '../src/metrics/series'

/** Width of one timeline bucket, and how many are kept: 2 s × 300 = the last 10 minutes. */
export const BUCKET_MS = 2000
export const TIMELINE_BUCKETS = 300
const WINDOW_MS = BUCKET_MS * TIMELINE_BUCKETS
/** Isolates whose last sequence number is remembered (to ignore a retried batch); oldest dropped. */
const MAX_ISOLATES = 4096
/** Regions whose breaker state is kept; the least recently reported is dropped past this. */
const MAX_REGIONS = 64

const TOTALS_KEY = 'totals'
const PATHS_KEY = 'paths'
const BUCKET_PREFIX = 'bucket:'

/**
 * The deployment's metrics: isolates send their deltas in batches (`record`), this object sums them
 * into totals (persisted: counters never go back) and into a bounded timeline of 2-second buckets
 * for the dashboard. One global instance (by name); a batch is a few KB, so it handles hundreds of
 * isolates flushing every second. Applying a batch is idempotent per (isolate, seq).
 */
export class Stats extends DurableObject {
  #totals: StatsTotals = { totals: emptySeries(), breakers: {}, batches: 0, since: 0 }
  #timeline: TimelineBucket[] = []
  readonly #lastSeq = new Map<string, number>()
  /** Decayed request counts of the most requested paths (only with `warming.topKeys`). */
  #paths: { at: number; counts: Record<string, number> } = { at: 0, counts: {} }

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env)
    void ctx.blockConcurrencyWhile(async () => {
      const saved = await ctx.storage.get<StatsTotals>(TOTALS_KEY)
      if (saved) this.#totals = saved
      const paths = await ctx.storage.get<{ at: number; counts: Record<string, number> }>(PATHS_KEY)
      if (paths) this.#paths = paths
      const oldest = Date.now() - WINDOW_MS
      const expired: string[] = []
      for (const [key, data] of await ctx.storage.list<SeriesSet>({ prefix: BUCKET_PREFIX })) {
        const t = Number(key.slice(BUCKET_PREFIX.length))
        if (t < oldest) expired.push(key)
        else this.#timeline.push({ t, data })
      }
      this.#timeline.sort((a, b) => a.t - b.t)
      await this.#deleteKeys(expired)
    })
  }

  /** Adds one isolate batch; `applied: false` for a batch already applied (a retry after a timeout). */
  async record(batch: StatsBatch): Promise<{ applied: boolean }> {
    const last = this.#lastSeq.get(batch.isolate)
    if (last !== undefined && batch.seq <= last) return { applied: false }
    this.#lastSeq.delete(batch.isolate)
    this.#lastSeq.set(batch.isolate, batch.seq)
    if (this.#lastSeq.size > MAX_ISOLATES) this.#lastSeq.delete(this.#lastSeq.keys().next().value!)

    const now = Date.now()
    const state = this.#totals
    mergeSeries(state.totals, batch.data)
    mergeBreakers(state.breakers, batch.breakers)
    this.#boundRegions()
    state.batches++
    if (state.since === 0) state.since = now
    const bucket = await this.#bucketAt(now)
    mergeSeries(bucket.data, batch.data)
    const writes: Record<string, unknown> = {
      [TOTALS_KEY]: state,
      [BUCKET_PREFIX + bucket.t]: bucket.data,
    }
    if (batch.paths) {
      mergeTopPaths(this.#paths, batch.paths, now)
      writes[PATHS_KEY] = this.#paths
    }
    await this.ctx.storage.put(writes)
    return { applied: true }
  }

  /** The `n` most requested paths lately (counts halve every 10 minutes), most requested first. */
  async topPaths(n: number): Promise<string[]> {
    return heaviest(this.#paths.counts, Math.max(0, Math.floor(n)))
  }

  /** Totals, and the timeline of the last 10 minutes when asked. */
  async read(options: { timeline?: boolean } = {}): Promise<StatsSnapshot> {
    const now = Date.now()
    return {
      ...this.#totals,
      now,
      bucketMs: BUCKET_MS,
      timeline: options.timeline
        ? this.#timeline.filter((bucket) => bucket.t > now - WINDOW_MS)
        : undefined,
    }
  }

  /** The bucket `now` falls in; buckets that left the window are dropped here. */
  async #bucketAt(now: number): Promise<TimelineBucket> {
    const t = now - (now % BUCKET_MS)
    const last = this.#timeline[this.#timeline.length - 1]
    if (last && last.t === t) return last
    const bucket = { t, data: emptySeries() }
    this.#timeline.push(bucket)
    const expired: string[] = []
    while (this.#timeline.length > 0 && this.#timeline[0]!.t <= t - WINDOW_MS) {
      expired.push(BUCKET_PREFIX + this.#timeline.shift()!.t)
    }
    await this.#deleteKeys(expired)
    return bucket
  }

  #boundRegions(): void {
    const regions = Object.entries(this.#totals.breakers)
    if (regions.length <= MAX_REGIONS) return
    regions.sort((a, b) => b[1].at - a[1].at)
    this.#totals.breakers = Object.fromEntries(regions.slice(0, MAX_REGIONS))
  }

  async #deleteKeys(keys: string[]): Promise<void> {
    // storage.delete takes at most 128 keys per call.
    for (let i = 0; i < keys.length; i += 128) await this.ctx.storage.delete(keys.slice(i, i + 128))
  }
}
