import { vi } from 'vitest'
import { ORIGIN } from './worker'

/**
 * Simulated time for counting tests: `Date` is faked in the test's isolate, which the Worker and its
 * Durable Objects share, so the clock moves only when the test says (`advance`) and when the origin
 * answers (each origin fetch takes `originMs` of simulated time, so entries record that fetch time, as
 * XFetch reads it). `Math.random` is a seeded PRNG. Nothing depends on how fast the machine is.
 *
 * The clock starts at a fixed instant (shifted by the seed), so a run is the same every time, and well
 * behind the real one: the demo origin's Date (real time) is never older than a response's simulated
 * arrival, so it adds no age (RFC 9111 §4.2.3 apparent_age is 0).
 */
export interface SimulatedTime {
  /** Simulated epoch ms at the start. */
  readonly start: number
  now(): number
  advance(ms: number): void
  /** Restores the real Date, Math.random and fetch. */
  restore(): void
}

export function simulateTime(options: { originMs: number; seed?: number }): SimulatedTime {
  const seed = options.seed ?? 1
  const start = Date.UTC(2026, 0, 1) + seed * 1009
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(start)
  let state = seed
  // mulberry32: small, fast, well distributed; deterministic for a seed.
  const random = vi.spyOn(Math, 'random').mockImplementation(() => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  })
  const realFetch = globalThis.fetch
  const origin = new URL(ORIGIN).host
  const fetchSpy = vi
    .spyOn(globalThis, 'fetch')
    .mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
      const response = await realFetch(input, init)
      const url = new URL(input instanceof Request ? input.url : String(input))
      if (url.host === origin && !url.pathname.startsWith('/__origin/')) {
        vi.setSystemTime(Date.now() + options.originMs)
      }
      return response
    })
  return {
    start,
    now: () => Date.now(),
    advance: (ms) => vi.setSystemTime(Date.now() + ms),
    restore() {
      fetchSpy.mockRestore()
      random.mockRestore()
      vi.useRealTimers()
    },
  }
}
