import { log } from '../lib/log'
import type { RegionalL2 } from './regional-l2'

/** `evicted_keys` of an `INFO stats` reply (`field:value` lines); undefined when it is not there. */
export function evictedKeysOf(info: string): number | undefined {
  const match = /^evicted_keys:(\d+)\r?$/m.exec(info)
  return match ? Number(match[1]) : undefined
}

export interface RegionEvictionsOptions {
  /** At most one round of INFO calls per this interval (ms); 0: never. */
  readonly intervalMs: number
  /** Deadline for one round (every region in parallel). */
  readonly timeoutMs: number
}

/** Keys evicted by each region's Redis, by region name; a region without a reading is absent. */
export type EvictedKeys = Readonly<Record<string, number>>

/**
 * Keys each L2 region's Redis evicted under its `maxmemory` policy, from `INFO stats`. Read only when
 * asked (a scrape of `/_cache/metrics` or `/_cache/stats`), at most once per `intervalMs` per isolate,
 * every region in parallel within `timeoutMs`: one INFO per region per round, whatever the scrape
 * rate. Only the result is kept between requests, never the call in flight (workerd cancels a
 * request that waits on another's I/O), so a scrape during a round, or within the interval, gets the
 * last result at once. A region that failed, timed out, has its breaker open or does not report the
 * field is absent from the result: its metric goes, the page stays.
 */
export class RegionEvictions {
  #roundAt = -Infinity
  #values: EvictedKeys = {}

  constructor(
    private readonly l2: RegionalL2,
    private readonly options: RegionEvictionsOptions
  ) {}

  /** The latest reading; a new round first when the last began `intervalMs` ago. Never throws. */
  async read(home: string, now: number = Date.now()): Promise<EvictedKeys> {
    const { intervalMs, timeoutMs } = this.options
    if (intervalMs === 0 || now - this.#roundAt < intervalMs) return this.#values
    this.#roundAt = now
    const regions = this.l2.router
      .status()
      .filter((status) => status.state !== 'open')
      .map((status) => status.region)
    const results = await Promise.allSettled(
      regions.map((region) =>
        this.l2.inspect(home, region, timeoutMs, (redis) => redis.exec<string>(['INFO', 'stats']))
      )
    )
    const values: Record<string, number> = {}
    results.forEach((result, i) => {
      const region = regions[i]!
      if (result.status === 'rejected') {
        log.warn('l2_info_failed', { region, error: result.reason })
        return
      }
      const evicted = evictedKeysOf(String(result.value))
      if (evicted !== undefined) values[region] = evicted
    })
    this.#values = values
    return values
  }
}
