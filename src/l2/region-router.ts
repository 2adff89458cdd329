import { CircuitBreaker, type BreakerOptions, type BreakerState } from '../lib/circuit-breaker'

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
  /** Round-trip estimate (EWMA, ms) from each client location that has used the region. */
  readonly rttMs: Readonly<Record<string, number>>
  /** Its distance: the fastest of the recent round trips (ms), per client location. */
  readonly minRttMs: Readonly<Record<string, number>>
}

/** Recent samples kept per (location, region) for the distance: enough to outlast a burst of noise. */
const DISTANCE_SAMPLES = 8

interface PathEstimate {
  /** EWMA of round trips: what a call should expect (its deadline). */
  ewma: number
  /** The last samples, a ring: their minimum is the distance, immune to cold starts and CPU noise. */
  readonly recent: number[]
  next: number
}

/**
 * Chooses L2 regions for an isolate: round-trip estimates per (client location, region) and a circuit
 * breaker per region. Reads go nearest healthy first, "nearest" being the fastest recent round trip
 * (like TCP's min RTT: a cold connection or a busy moment does not make a near region look far); a
 * region whose breaker is open is skipped until its cooldown lets one trial through.
 */
export class RegionRouter {
  readonly #breakers = new Map<string, CircuitBreaker>()
  // `${from} ${to}`: locations and regions are [a-z0-9-] names, so a space cannot collide.
  readonly #paths = new Map<string, PathEstimate>()

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

  /** The expected round trip (EWMA) from `from` to `region`, if it was ever measured. */
  rtt(from: string, region: string): number | undefined {
    return this.#paths.get(`${from} ${region}`)?.ewma
  }

  /** How far `region` is from `from`: the fastest recent round trip, if any was measured. */
  distance(from: string, region: string): number | undefined {
    const path = this.#paths.get(`${from} ${region}`)
    return path && Math.min(...path.recent)
  }

  /** Regions a read from `home` should try, nearest healthy first (unmeasured ones after `home`). */
  readOrder(home: string, now: number): string[] {
    const score = (region: string) => {
      const rtt = this.distance(home, region)
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
    if (outcome.ok || outcome.slow) this.#sample(`${from} ${region}`, outcome.latencyMs)
  }

  #sample(key: string, ms: number): void {
    const path = this.#paths.get(key)
    if (path === undefined) {
      this.#paths.set(key, { ewma: ms, recent: [ms], next: 1 })
      return
    }
    path.ewma += this.options.rttAlpha * (ms - path.ewma)
    path.recent[path.next % DISTANCE_SAMPLES] = ms
    path.next++
  }

  /** True when no region can be called: L2 is skipped entirely (degraded mode). */
  allDown(now: number): boolean {
    return this.regions.every((region) => !this.#breakers.get(region)!.available(now))
  }

  status(): RegionStatus[] {
    const round = (ms: number) => Math.round(ms * 10) / 10
    return this.regions.map((region) => {
      const rttMs: Record<string, number> = {}
      const minRttMs: Record<string, number> = {}
      for (const [key, path] of this.#paths) {
        const [from, to] = key.split(' ') as [string, string]
        if (to !== region) continue
        rttMs[from] = round(path.ewma)
        minRttMs[from] = round(Math.min(...path.recent))
      }
      return { region, state: this.#breakers.get(region)!.state, rttMs, minRttMs }
    })
  }
}
