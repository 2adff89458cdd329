import type { Config } from '../config/load-config'
import { CircuitBreaker, type BreakerState } from '../lib/circuit-breaker'

/** Refused without calling the origin: its breaker is open. */
export class OriginCircuitOpen extends Error {
  static readonly code = 'E_ORIGIN_CIRCUIT_OPEN'
  constructor() {
    super('origin circuit breaker is open')
    this.name = 'OriginCircuitOpen'
  }
}

// One breaker per isolate and config: the Worker's isolates and each Coalescer object keep their own.
const breakers = new WeakMap<Config, CircuitBreaker | null>()

/** The origin's breaker in this isolate, or null when turned off. */
export function originBreaker(config: Config): CircuitBreaker | null {
  let breaker = breakers.get(config)
  if (breaker === undefined) {
    const { enabled, failureThreshold, cooldownMs } = config.origin.breaker
    breaker = enabled
      ? new CircuitBreaker({ failureThreshold, cooldownMs }, (state: BreakerState) =>
          console.error(JSON.stringify({ level: 'warn', event: 'origin_breaker', state }))
        )
      : null
    breakers.set(config, breaker)
  }
  return breaker
}
