import { describe, expect, it } from 'vitest'
import { CircuitBreaker, type BreakerState } from '../../src/lib/circuit-breaker'

function breaker() {
  const changes: BreakerState[] = []
  const b = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 1000 }, (s) => changes.push(s))
  return { b, changes }
}

describe('circuit breaker', () => {
  it('opens after the threshold of consecutive failures, not before', () => {
    const { b, changes } = breaker()
    b.failure(0)
    b.failure(0)
    b.success()
    b.failure(0)
    b.failure(0)
    expect(b.state).toBe('closed')
    b.failure(0)
    expect(b.state).toBe('open')
    expect(b.allow(999)).toBe(false)
    expect(changes).toEqual(['open'])
  })

  it('lets exactly one trial through after the cooldown; success closes', () => {
    const { b, changes } = breaker()
    for (let i = 0; i < 3; i++) b.failure(0)
    expect(b.available(1000)).toBe(true)
    expect(b.allow(1000)).toBe(true)
    expect(b.state).toBe('half-open')
    expect(b.allow(1001)).toBe(false)
    expect(b.available(1001)).toBe(false)
    b.success()
    expect(b.state).toBe('closed')
    expect(changes).toEqual(['open', 'half-open', 'closed'])
  })

  it('a failed trial re-opens for another cooldown', () => {
    const { b } = breaker()
    for (let i = 0; i < 3; i++) b.failure(0)
    expect(b.allow(1000)).toBe(true)
    b.failure(1000)
    expect(b.state).toBe('open')
    expect(b.allow(1999)).toBe(false)
    expect(b.allow(2000)).toBe(true)
  })

  it('a trial that never reports does not block the next one forever', () => {
    const { b } = breaker()
    for (let i = 0; i < 3; i++) b.failure(0)
    expect(b.allow(1000)).toBe(true)
    expect(b.allow(1500)).toBe(false)
    expect(b.allow(2000)).toBe(true)
  })
})
