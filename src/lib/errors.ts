/**
 * Every error the Worker and its Durable Objects throw on purpose, by code. Each is an
 * EdgeCacheError carrying one of these codes on the instance (and on its class, as `static code`).
 */
export const ERROR_CODES = {
  /** The bindings or CACHE_CONFIG are invalid: the Worker refuses to start. */
  E_CONFIG: 'invalid configuration',
  /** A stored record cannot be read (corrupt, invalid, another format): a miss, never a 5xx. */
  E_ENTRY_CODEC: 'unreadable cache record',
  /** An origin URL would leave the configured origin. */
  E_OPEN_PROXY: 'origin URL outside the configured origin',
  /** Refused without calling the origin: its breaker is open. */
  E_ORIGIN_CIRCUIT_OPEN: 'origin circuit breaker open',
  /** No L2 region could answer (all down or open, or past the read deadline) or a delete missed one. */
  E_L2_UNAVAILABLE: 'L2 unavailable',
  /** A wait outlasted its deadline (a Durable Object, an L2 region, the coalescer's leader...). */
  E_DEADLINE: 'deadline exceeded',
} as const

export type ErrorCode = keyof typeof ERROR_CODES

/** The base of our errors: a code on the instance, the cause kept. */
export class EdgeCacheError extends Error {
  readonly code: ErrorCode

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'EdgeCacheError'
    this.code = code
  }
}

/** `operation` got no answer within `ms`: what `withDeadline` rejects with. */
export class DeadlineExceeded extends EdgeCacheError {
  static readonly code = 'E_DEADLINE'
  readonly operation: string
  readonly ms: number

  constructor(operation: string, ms: number, options?: ErrorOptions) {
    super(DeadlineExceeded.code, `${operation}: no answer within ${ms} ms`, options)
    this.name = 'DeadlineExceeded'
    this.operation = operation
    this.ms = ms
  }
}

/**
 * A deadline passed: our own (DeadlineExceeded) or the platform's (a fetch or an RPC given
 * `AbortSignal.timeout()` rejects with a TimeoutError, or an AbortError from some runtimes).
 */
export function isTimeout(error: unknown): boolean {
  return (
    error instanceof DeadlineExceeded ||
    (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError'))
  )
}
