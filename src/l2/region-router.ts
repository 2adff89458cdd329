import { CircuitBreaker, type BreakerOptions, type BreakerState } from './circuit-breaker'

export interface RouterOptions {
  readonly breaker: BreakerOptions
  /** Weight of the newest sample in the round-trip EWMA. */
  readonly rttAlpha: number
  /** The home region keeps first place unless another is faster by more than this. */
  readonly homeBiasMs: number
}

export interface CallOutcome {
  readonly ok: boolean
  readonly latencyMs: number
  /** A failure that took its time (timeout, slow error): its latency still says how far the region is. */
  readonly slow?: boolean
}

export interface RegionStatus {
  readonly region: string
  readonly state: BreakerState
  /** Round-trip estimate (ms) from each client location that has used the region. */
  readonly rttMs: Readonly<Record<string, number>>
}

/**
 * Chooses L2 regions for an isolate: a round-trip estimate (EWMA) per (client location, region) and a
 * circuit breaker per region. Reads go nearest healthy first; a region whose breaker is open is skipped
 * until its cooldown lets one trial through.
 */
export class RegionRouter {
  readonly #breakers = new Map<string, CircuitBreaker>()
  // `${from} ${to}` → ms: locations and regions are [a-z0-9-] names, so a space cannot collide.
  readonly #rtt = new Map<string, number>()

  constructor(
    readonly regions: readonly string[],
    private readonly options: RouterOptions,
    onBreakerChange: (region: string, state: BreakerState) => void = () => {}
  ) {
    for (const region of regions) {
      this.#breakers.set(
        region,
        new CircuitBreaker(options.breaker, (state) => onBreakerChange(region, state))
      )
    }
  }

  /** The round-trip estimate from `from` to `region`, if it was ever measured. */
  rtt(from: string, region: string): number | undefined {
    return this.#rtt.get(`${from} ${region}`)
  }

  /** Regions a read from `home` should try, nearest healthy first (unmeasured ones after `home`). */
  readOrder(home: string, now: number): string[] {
    const score = (region: string) => {
      const rtt = this.rtt(home, region)
      const bias = region === home ? this.options.homeBiasMs : 0
      if (rtt !== undefined) return rtt - bias
      return region === home ? -bias : Number.POSITIVE_INFINITY
    }
    return this.regions
      .filter((region) => this.#breakers.get(region)!.available(now))
      .map((region, index) => ({ region, index, score: score(region) }))
      .sort((a, b) => a.score - b.score || a.index - b.index)
      .map(({ region }) => region)
  }

  /** Where a fill from `home` goes: home while it is healthy, else the nearest healthy region. */
  writeRegion(home: string, now: number): string | undefined {
    if (this.#breakers.get(home)?.available(now)) return home
    return this.readOrder(home, now)[0]
  }

  /** Claims the right to call `region` now (the single trial when its breaker is half-open). */
  allow(region: string, now: number): boolean {
    return this.#breakers.get(region)?.allow(now) ?? false
  }

  record(from: string, region: string, outcome: CallOutcome, now: number): void {
    const breaker = this.#breakers.get(region)
    if (breaker === undefined) return
    if (outcome.ok) breaker.success()
    else breaker.failure(now)
    // A fast failure (connection refused) says nothing about distance; the breaker handles it.
    if (outcome.ok || outcome.slow) {
      const key = `${from} ${region}`
      const previous = this.#rtt.get(key)
      const alpha = this.options.rttAlpha
      this.#rtt.set(
        key,
        previous === undefined
          ? outcome.latencyMs
          : previous + alpha * (outcome.latencyMs - previous)
      )
    }
  }

  /** True when no region can be called: L2 is skipped entirely (degraded mode). */
  allDown(now: number): boolean {
    return this.regions.every((region) => !this.#breakers.get(region)!.available(now))
  }

  status(): RegionStatus[] {
    return this.regions.map((region) => {
      const rttMs: Record<string, number> = {}
      for (const [key, value] of this.#rtt) {
        const [from, to] = key.split(' ') as [string, string]
        if (to === region) rttMs[from] = Math.round(value * 10) / 10
      }
      return { region, state: this.#breakers.get(region)!.state, rttMs }
    })
  }
}
