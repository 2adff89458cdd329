import type { Config } from '../config/load-config'
import { CircuitBreaker, type BreakerState } from '../lib/circuit-breaker'
import { EdgeCacheError } from '../lib/errors'
import { FailureWindow } from '../lib/failure-window'
import { log } from '../lib/log'

/** Refused without calling the origin: its breaker is open. */
export class OriginCircuitOpen extends EdgeCacheError {
  static readonly code = 'E_ORIGIN_CIRCUIT_OPEN'
  constructor() {
    super(OriginCircuitOpen.code, 'origin circuit breaker is open')
    this.name = 'OriginCircuitOpen'
  }
}

/** What one origin exchange says about the origin as a whole. */
export type OriginOutcome =
  /** It answered: any status not listed as a gateway failure, a 500 included (that URL's answer). */
  | 'answered'
  /** Unreachable, timed out, or a configured gateway status (502/503/504 by default). */
  | 'failed'

export type OriginBreakerSettings = Config['origin']['breaker']

/**
 * The origin's breaker: only an outage opens it. Failures are judged over a sliding window by ratio,
 * volume and spread across keys (FailureWindow), so no client can open it with one URL that answers
 * 500 or hangs; once open, the CircuitBreaker's cooldown and single half-open trial apply.
 */
export class OriginBreaker {
  readonly #window: FailureWindow
  readonly #breaker: CircuitBreaker
  readonly #failureStatuses: ReadonlySet<number>

  constructor(settings: OriginBreakerSettings, onChange: (state: BreakerState) => void = () => {}) {
    this.#window = new FailureWindow(settings)
    // Opening is the window's decision; the breaker keeps the cooldown and the half-open trial
    // (a failed trial re-opens it at once, whatever the threshold).
    this.#breaker = new CircuitBreaker(
      { failureThreshold: Number.MAX_SAFE_INTEGER, cooldownMs: settings.cooldownMs },
      onChange
    )
    this.#failureStatuses = new Set(settings.failureStatuses)
  }

  get state(): BreakerState {
    return this.#breaker.state
  }

  /** Whether a fetch may go to the origin now; in half-open this claims the single trial. */
  allow(now: number): boolean {
    return this.#breaker.allow(now)
  }

  /** The outcome of an exchange that got a status. */
  outcomeOf(status: number): OriginOutcome {
    return this.#failureStatuses.has(status) ? 'failed' : 'answered'
  }

  record(now: number, key: string, outcome: OriginOutcome): void {
    const failed = outcome === 'failed'
    if (this.#breaker.state !== 'closed') {
      if (failed) this.#breaker.failure(now)
      else {
        this.#breaker.success()
        this.#window.reset()
      }
      return
    }
    this.#window.record(now, key, failed)
    if (failed && this.#window.tripped(now)) {
      this.#breaker.trip(now)
      this.#window.reset()
    }
  }
}

/** The origin's breaker for one isolate (the Worker's, or a Coalescer object's), or null when off. */
export function createOriginBreaker(settings: OriginBreakerSettings): OriginBreaker | null {
  if (!settings.enabled) return null
  return new OriginBreaker(settings, (state: BreakerState) => log.warn('origin_breaker', { state }))
}
