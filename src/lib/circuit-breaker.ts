export type BreakerState = 'closed' | 'open' | 'half-open'

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. */
  readonly failureThreshold: number
  /** How long it stays open before one trial call may go through. */
  readonly cooldownMs: number
}

/**
 * A per-dependency circuit breaker (an L2 region, the origin): closed → open after `failureThreshold` consecutive failures;
 * open skips the dependency for `cooldownMs`, then half-open lets one trial through (success closes,
 * failure re-opens). A trial that never reports does not block the next one past another cooldown.
 */
export class CircuitBreaker {
  #state: BreakerState = 'closed'
  #failures = 0
  #openedAt = 0
  #trialAt: number | undefined

  constructor(
    private readonly options: BreakerOptions,
    /** Called on every state change (metrics, logs). */
    private readonly onChange: (state: BreakerState) => void = () => {}
  ) {}

  get state(): BreakerState {
    return this.#state
  }

  /** Whether a call may go to the dependency now; in half-open this claims the single trial. */
  allow(now: number): boolean {
    if (this.#state === 'closed') return true
    if (this.#state === 'open') {
      if (now - this.#openedAt < this.options.cooldownMs) return false
      this.#set('half-open')
      this.#trialAt = now
      return true
    }
    if (this.#trialAt !== undefined && now - this.#trialAt < this.options.cooldownMs) return false
    this.#trialAt = now
    return true
  }

  /** Whether a call would be allowed, without claiming a half-open trial (for ordering, health). */
  available(now: number): boolean {
    if (this.#state === 'closed') return true
    if (this.#state === 'open') return now - this.#openedAt >= this.options.cooldownMs
    return this.#trialAt === undefined || now - this.#trialAt >= this.options.cooldownMs
  }

  success(): void {
    this.#failures = 0
    this.#trialAt = undefined
    if (this.#state !== 'closed') this.#set('closed')
  }

  failure(now: number): void {
    this.#failures++
    this.#trialAt = undefined
    if (this.#state === 'half-open' || this.#failures >= this.options.failureThreshold) {
      this.#openedAt = now
      if (this.#state !== 'open') this.#set('open')
    }
  }

  /** Opens now, whatever the count: for owners that judge failures by their own rule. */
  trip(now: number): void {
    this.#failures = 0
    this.#trialAt = undefined
    this.#openedAt = now
    if (this.#state !== 'open') this.#set('open')
  }

  #set(state: BreakerState): void {
    this.#state = state
    this.onChange(state)
  }
}
