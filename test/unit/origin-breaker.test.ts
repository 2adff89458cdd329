import { describe, expect, it } from 'vitest'
import { FailureWindow } from '../../src/lib/failure-window'
import { OriginBreaker } from '../../src/origin/origin-breaker'

const SETTINGS = {
  enabled: true,
  failureRatio: 0.5,
  minRequests: 20,
  minKeys: 5,
  windowMs: 10_000,
  failureStatuses: [502, 503, 504],
  cooldownMs: 5000,
}

describe('FailureWindow', () => {
  const window = () =>
    new FailureWindow({ windowMs: 10_000, failureRatio: 0.5, minRequests: 20, minKeys: 5 })

  it('trips at the ratio, volume and spread together', () => {
    const w = window()
    for (let i = 0; i < 19; i++) w.record(1000, `k${i % 5}`, true)
    expect(w.tripped(1000)).toBe(false) // 19 < minRequests
    w.record(1000, 'k0', true)
    expect(w.tripped(1000)).toBe(true)
  })

  it('one key failing, however often, never trips it', () => {
    const w = window()
    for (let i = 0; i < 1000; i++) w.record(1000, 'one', true)
    expect(w.tripped(1000)).toBe(false)
  })

  it('four failing keys are below the spread', () => {
    const w = window()
    for (let i = 0; i < 100; i++) w.record(1000, `k${i % 4}`, true)
    expect(w.tripped(1000)).toBe(false)
  })

  it('needs the ratio: failures diluted by successes do not trip it', () => {
    const w = window()
    for (let i = 0; i < 40; i++) w.record(1000, `k${i}`, i % 3 === 0)
    expect(w.tripped(1000)).toBe(false)
  })

  it('forgets what left the window', () => {
    const w = window()
    for (let i = 0; i < 19; i++) w.record(1000, `k${i % 5}`, true)
    w.record(12_000, 'k0', true)
    expect(w.tripped(12_000)).toBe(false)
  })
})

describe('OriginBreaker', () => {
  it('counts a 500 as an answer and 502/503/504 as failures', () => {
    const breaker = new OriginBreaker(SETTINGS)
    expect(breaker.outcomeOf(500)).toBe('answered')
    expect(breaker.outcomeOf(404)).toBe('answered')
    for (const status of [502, 503, 504]) expect(breaker.outcomeOf(status)).toBe('failed')
  })

  it('stays closed under any number of 500s', () => {
    const breaker = new OriginBreaker(SETTINGS)
    for (let i = 0; i < 500; i++) breaker.record(1000, `k${i}`, breaker.outcomeOf(500))
    expect(breaker.state).toBe('closed')
  })

  it('opens on an outage over many keys, then one trial after the cooldown', () => {
    const breaker = new OriginBreaker(SETTINGS)
    for (let i = 0; i < 20; i++) breaker.record(1000, `k${i}`, 'failed')
    expect(breaker.state).toBe('open')
    expect(breaker.allow(2000)).toBe(false)
    expect(breaker.allow(6000)).toBe(true)
    expect(breaker.allow(6001)).toBe(false) // the single trial is taken
    breaker.record(6100, 'k0', 'failed')
    expect(breaker.state).toBe('open')
    expect(breaker.allow(11_200)).toBe(true)
    breaker.record(11_300, 'k0', 'answered')
    expect(breaker.state).toBe('closed')
    // A closed breaker starts a fresh window: a single failure does not re-open it.
    breaker.record(11_400, 'k1', 'failed')
    expect(breaker.state).toBe('closed')
  })
})
