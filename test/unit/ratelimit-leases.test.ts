import { env } from 'cloudflare:workers'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LeaseBook, type PermitResult, type PermitSource } from '../../src/ratelimit/lease-book'
import { leaseMs, type WindowRule } from '../../src/ratelimit/window'

/** A clock the test moves: the books and the RateLimiter object read the same time. */
class TestClock {
  now = 1_000_000
  readonly read = () => this.now
}

interface Calls {
  lease: number
  release: number
}

/** The real RateLimiter object `name`, asked with the test's time, its calls counted. */
function limiterSource(name: string, rule: WindowRule, clock: TestClock, calls?: Calls) {
  const stub = env.RATE_LIMITER!.get(env.RATE_LIMITER!.idFromName(name))
  const source: PermitSource = {
    lease: async (request) => {
      if (calls) calls.lease++
      return stub.lease(rule, request, clock.now)
    },
    release: async (returns) => {
      if (calls) calls.release++
      await stub.release(rule, returns, clock.now)
    },
  }
  return source
}

/** One simulated isolate: its own lease book against the shared object. */
function isolate(clock: TestClock) {
  const book = new LeaseBook({ clock: clock.read })
  const deferred: Promise<unknown>[] = []
  return {
    book,
    /** A request's waitUntil: background lease requests land here. */
    defer: (work: Promise<unknown>) => void deferred.push(work),
    /** Waits for the background work deferred so far. */
    async settle() {
      await Promise.all(deferred.splice(0))
    },
    /** Sweeps and waits for the reports (waitUntil). */
    async sweep() {
      book.sweep((work) => deferred.push(work))
      await Promise.all(deferred.splice(0))
    },
  }
}

const policy = (limit: number, leaseSize = 8, timeoutMs = 5000) => ({
  limit,
  leaseSize,
  timeoutMs,
})

const admittedOf = (results: readonly PermitResult[]) =>
  results.filter((r) => 'decision' in r && r.decision.allowed).length

const burst = <T>(n: number, request: () => Promise<T>) =>
  Promise.all(Array.from({ length: n }, request))

let names = 0
const uniqueName = (prefix: string) => `${prefix}:${Date.now()}:${names++}`

describe('permit leases (one isolate)', () => {
  it('a 1000-way burst admits exactly the limit', async () => {
    const clock = new TestClock()
    const rule = { limit: 100, windowMs: 60_000 }
    const calls = { lease: 0, release: 0 }
    const source = limiterSource(uniqueName('burst'), rule, clock, calls)
    const { book } = isolate(clock)
    const results = await burst(1000, () => book.acquire('id', source, policy(100)))
    expect(admittedOf(results)).toBe(100)
    expect(book.outstanding()).toBe(0)
    for (const result of results) {
      if ('decision' in result && !result.decision.allowed) {
        expect(result.decision).toMatchObject({ remaining: 0, resetMs: 60_000 })
      }
    }
    // Each request waits on its own call only (workerd cancels a request that waits on another
    // request's I/O), so requests that all arrive before the first answer each ask once; the
    // saving is for traffic that finds permits held (once per leaseSize requests, tested below).
    expect(calls.lease).toBeLessThanOrEqual(1000)
    // Once the object says nothing can free a slot (no permits held anywhere), the refusal holds
    // locally until a slot frees: the next 100 requests ask nobody.
    const last = await book.acquire('id', source, policy(100))
    expect('decision' in last && last.decision.allowed).toBe(false)
    const before = calls.lease
    expect(admittedOf(await burst(100, () => book.acquire('id', source, policy(100))))).toBe(0)
    expect(calls.lease).toBe(before)
  })

  it('reports exact RateLimit remaining counts in one isolate', async () => {
    const clock = new TestClock()
    const rule = { limit: 20, windowMs: 60_000 }
    const source = limiterSource(uniqueName('remaining'), rule, clock)
    const { book } = isolate(clock)
    for (let admitted = 1; admitted <= 20; admitted++) {
      const result = await book.acquire('id', source, policy(20))
      expect(result).toMatchObject({ decision: { allowed: true, remaining: 20 - admitted } })
      clock.now += 10
    }
    expect(await book.acquire('id', source, policy(20))).toMatchObject({
      decision: { allowed: false, remaining: 0 },
    })
  })

  it('the boundary burst admits 0 until the window has passed, then the limit again', async () => {
    const clock = new TestClock()
    const rule = { limit: 50, windowMs: 10_000 }
    const name = uniqueName('boundary')
    const a = isolate(clock)
    const b = isolate(clock)
    const t0 = clock.now
    expect(
      admittedOf(
        await burst(200, () => a.book.acquire('id', limiterSource(name, rule, clock), policy(50)))
      )
    ).toBe(50)
    clock.now = t0 + rule.windowMs - 1
    expect(
      admittedOf(
        await burst(200, () => b.book.acquire('id', limiterSource(name, rule, clock), policy(50)))
      )
    ).toBe(0)
    // Held permits were counted until a window after their lease's end.
    clock.now = t0 + rule.windowMs + leaseMs(rule.windowMs)
    expect(
      admittedOf(
        await burst(200, () => b.book.acquire('id', limiterSource(name, rule, clock), policy(50)))
      )
    ).toBe(50)
  })
})

describe('permit leases (several isolates)', () => {
  it('(a) two isolates in a burst admit at most the limit, at least the limit less what they hold', async () => {
    const clock = new TestClock()
    const rule = { limit: 100, windowMs: 60_000 }
    const source = limiterSource(uniqueName('two'), rule, clock)
    const a = isolate(clock)
    const b = isolate(clock)
    const results = await Promise.all(
      Array.from({ length: 600 }, (_, i) =>
        (i % 2 === 0 ? a : b).book.acquire('id', source, policy(100))
      )
    )
    const admitted = admittedOf(results)
    const held = a.book.outstanding() + b.book.outstanding()
    expect(admitted).toBeLessThanOrEqual(100)
    expect(admitted).toBeGreaterThanOrEqual(100 - held)
  })

  it('(b) an expired lease gives its unused permits back: the other isolate can use them', async () => {
    const clock = new TestClock()
    const rule = { limit: 30, windowMs: 60_000 }
    const name = uniqueName('expiry')
    const source = limiterSource(name, rule, clock)
    const a = isolate(clock)
    const b = isolate(clock)
    expect(admittedOf([await a.book.acquire('id', source, policy(30))])).toBe(1)
    const heldByA = a.book.outstanding()
    expect(heldByA).toBeGreaterThan(0)
    expect(admittedOf(await burst(100, () => b.book.acquire('id', source, policy(30))))).toBe(
      30 - 1 - heldByA
    )
    // Before A's lease ends, its permits stay A's.
    clock.now += leaseMs(rule.windowMs) - 1
    expect(admittedOf(await burst(10, () => b.book.acquire('id', source, policy(30))))).toBe(0)
    clock.now += 1
    await a.sweep()
    expect(a.book.outstanding()).toBe(0)
    expect(admittedOf(await burst(100, () => b.book.acquire('id', source, policy(30))))).toBe(
      heldByA
    )
  })

  it('(b) an expired lease is also given back with the next lease request of its isolate', async () => {
    const clock = new TestClock()
    const rule = { limit: 10, windowMs: 60_000 }
    const calls = { lease: 0, release: 0 }
    const source = limiterSource(uniqueName('piggy'), rule, clock, calls)
    const a = isolate(clock)
    const b = isolate(clock)
    await a.book.acquire('id', source, policy(10, 4))
    const heldByA = a.book.outstanding()
    expect(heldByA).toBe(3)
    clock.now += leaseMs(rule.windowMs)
    // A's next request asks for a new lease, carrying the old one's 3 unused permits back.
    expect(admittedOf(await burst(3, () => a.book.acquire('id', source, policy(10, 1))))).toBe(3)
    expect(admittedOf(await burst(20, () => b.book.acquire('id', source, policy(10))))).toBe(
      10 - 1 - 3
    )
    expect(calls.release).toBe(0)
  })

  it('(c) a failing object follows the fail policy within the deadline, and recovers', async () => {
    const clock = new TestClock()
    const rule = { limit: 10, windowMs: 60_000 }
    const real = limiterSource(uniqueName('failing'), rule, clock)
    let mode: 'hang' | 'throw' | 'ok' = 'hang'
    const chaos: PermitSource = {
      lease: (request) =>
        mode === 'hang'
          ? new Promise<never>(() => {})
          : mode === 'throw'
            ? Promise.reject(new Error('limiter down'))
            : real.lease(request),
      release: (returns) => real.release(returns),
    }
    const { book } = isolate(clock)
    // Every waiter of the hanging request gets its answer when the deadline passes (test timeout
    // otherwise): unavailable, which the middleware turns into admit (open) or 503 (closed).
    const hung = await burst(20, () => book.acquire('id', chaos, policy(10, 8, 30)))
    expect(
      hung.every((r) => 'unavailable' in r && /no answer within 30 ms/.test(r.unavailable))
    ).toBe(true)
    mode = 'throw'
    const thrown = await burst(5, () => book.acquire('id', chaos, policy(10, 8, 30)))
    expect(thrown.every((r) => 'unavailable' in r && /limiter down/.test(r.unavailable))).toBe(true)
    mode = 'ok'
    expect(admittedOf(await burst(50, () => book.acquire('id', chaos, policy(10, 8, 5000))))).toBe(
      10
    )
  })

  it('(d) hostile identity strings keep their own exact counts', async () => {
    const clock = new TestClock()
    const rule = { limit: 3, windowMs: 60_000 }
    const { book } = isolate(clock)
    const hostile = [
      `t:${'\u{1F600}'.repeat(50_000)}`,
      `t:${'\uD800'}\u0000\u202E${'x'.repeat(10)}`,
      '__proto__',
      'constructor',
      '',
    ]
    for (const key of hostile) {
      const source = limiterSource(`${uniqueName('hostile')}${key}`, rule, clock)
      expect(admittedOf(await burst(20, () => book.acquire(key, source, policy(3))))).toBe(3)
    }
    // Bogus returns are ignored by the object: no slot appears from them.
    const name = uniqueName('bogus')
    const stub = env.RATE_LIMITER!.get(env.RATE_LIMITER!.idFromName(name))
    await stub.lease(rule, { take: 3, hold: 0, returns: [] }, clock.now)
    await stub.release(
      rule,
      [
        { id: '__proto__', unused: 5 },
        { id: 'constructor', unused: Number.NaN },
        { id: 'x'.repeat(10_000), unused: -1 },
      ],
      clock.now
    )
    expect(await stub.hit(rule, clock.now)).toMatchObject({ allowed: false, remaining: 0 })
  })

  it('(e) property: any interleaving over 2-3 isolates admits at most the limit in any window', async () => {
    const step = fc.record({
      isolate: fc.nat(2),
      requests: fc.integer({ min: 1, max: 12 }),
      // Around a lease's length (W/10 = 500 ms) and the window's, where a lapse would show.
      advanceMs: fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(0, 1, 250, 499, 4_750, 4_999, 5_000) },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: 6_000 }) }
      ),
      sweep: fc.boolean(),
    })
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 3 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(step, { minLength: 1, maxLength: 25 }),
        fc.boolean(),
        async (isolateCount, limit, leaseSize, steps, prefetch) => {
          const clock = new TestClock()
          const rule = { limit, windowMs: 5000 }
          const source = limiterSource(uniqueName('property'), rule, clock)
          const isolates = Array.from({ length: isolateCount }, () => isolate(clock))
          const admissions: number[] = []
          // Each step's requests race one another and the previous step's (not awaited yet).
          let pending: Promise<void> = Promise.resolve()
          for (const { isolate: i, requests, advanceMs, sweep } of steps) {
            const { book, sweep: sweepBook, defer } = isolates[i % isolateCount]!
            const at = clock.now
            const step = burst(requests, async () => {
              const result = await book.acquire(
                'id',
                source,
                policy(limit, leaseSize),
                prefetch ? defer : undefined
              )
              if ('decision' in result && result.decision.allowed) admissions.push(at)
            })
            pending = Promise.all([pending, step, sweep ? sweepBook() : undefined]).then(() => {})
            if (advanceMs > 0) {
              await pending
              clock.now += advanceMs
            }
          }
          await pending
          for (const { settle } of isolates) await settle()
          // Any window [t, t + W) holds at most `limit` admissions (checked from every admission).
          admissions.sort((x, y) => x - y)
          for (const start of admissions) {
            const inWindow = admissions.filter((t) => t >= start && t < start + rule.windowMs)
            expect(inWindow.length).toBeLessThanOrEqual(limit)
          }
        }
      ),
      { numRuns: 100 }
    )
  })
})

describe('Durable Object requests of a hot identity', () => {
  async function requestsFor(leaseSize: number): Promise<Calls> {
    const clock = new TestClock()
    const rule = { limit: 10_000, windowMs: 3_600_000 }
    const calls = { lease: 0, release: 0 }
    const source = limiterSource(uniqueName(`hot${leaseSize}`), rule, clock, calls)
    const { book } = isolate(clock)
    for (let i = 0; i < 1000; i++) {
      const result = await book.acquire('id', source, policy(10_000, leaseSize))
      expect(result).toMatchObject({ decision: { allowed: true, remaining: 10_000 - i - 1 } })
      clock.now += 1
    }
    return calls
  }

  it('costs 1000/leaseSize lease requests per 1000 requests (1000 with leaseSize 1)', async () => {
    const withLeases = await requestsFor(8)
    const without = await requestsFor(1)
    expect(without).toEqual({ lease: 1000, release: 0 })
    expect(withLeases.lease).toBe(125)
    expect(withLeases.release).toBe(0)
    console.log(
      `DO requests per 1000: leaseSize 8: ${withLeases.lease}, leaseSize 1: ${without.lease}`
    )
  })
})

describe('background lease renewal (prefetch)', () => {
  it('a hot identity waits on the object once, then on no call of its own', async () => {
    const clock = new TestClock()
    const rule = { limit: 10_000, windowMs: 3_600_000 }
    let waited = 0
    let asked = 0
    const real = limiterSource(uniqueName('prefetch'), rule, clock)
    const source: PermitSource = {
      lease: async (request) => {
        asked++
        if (request.take > 0) waited++
        return real.lease(request)
      },
      release: (returns) => real.release(returns),
    }
    const { book, defer, settle } = isolate(clock)
    for (let i = 0; i < 1000; i++) {
      const result = await book.acquire('id', source, policy(10_000), defer)
      expect(result).toMatchObject({ decision: { allowed: true } })
      // The renewal lands between requests (as it does while a busy isolate serves others).
      await settle()
      // Half a lease of demand-sized renewal (at most 8 leases of 8) plus the renewal itself.
      expect(book.outstanding()).toBeLessThanOrEqual(32 + 64)
      clock.now += 1
    }
    expect(waited).toBe(1)
    // One object request per leaseSize requests, as without renewal: none is spent in vain.
    expect(asked).toBeLessThanOrEqual(1 + Math.ceil(1000 / 8))
  })

  it('sizes a renewal by recent demand: a steady client renews about once per lease time', async () => {
    const clock = new TestClock()
    // Leases last a tenth of the window: 100 ms. One request a millisecond: 100 per lease time.
    const rule = { limit: 10_000, windowMs: 1000 }
    const calls = { lease: 0, release: 0 }
    const source = limiterSource(uniqueName('demand'), rule, clock, calls)
    const { book, defer, settle } = isolate(clock)
    let admitted = 0
    let mostHeld = 0
    for (let i = 0; i < 1000; i++) {
      const result = await book.acquire('id', source, policy(10_000), defer)
      if ('decision' in result && result.decision.allowed) admitted++
      await settle()
      mostHeld = Math.max(mostHeld, book.outstanding())
      clock.now += 1
    }
    expect(admitted).toBe(1000)
    // 1000 / leaseSize = 125 object requests without demand sizing; renewals of up to 8 leases.
    expect(calls.lease).toBeLessThanOrEqual(1 + Math.ceil(1000 / 64) + 5)
    // Never more than one renewal's cap beyond half a lease: 64 + 32.
    expect(mostHeld).toBeLessThanOrEqual(96)
    console.log(
      `demand-sized renewals: ${calls.lease} object requests per 1000, most held ${mostHeld}`
    )
  })

  it('is exact in a burst, and a renewal that finds no slot makes the refusal local', async () => {
    const clock = new TestClock()
    const rule = { limit: 100, windowMs: 60_000 }
    const calls = { lease: 0, release: 0 }
    const source = limiterSource(uniqueName('prefetch-burst'), rule, clock, calls)
    const { book, defer, settle } = isolate(clock)
    let admitted = 0
    for (let round = 0; round < 20; round++) {
      const results = await burst(10, () => book.acquire('id', source, policy(100), defer))
      admitted += admittedOf(results)
      await settle()
    }
    expect(admitted).toBe(100)
    const before = calls.lease
    expect(admittedOf(await burst(50, () => book.acquire('id', source, policy(100), defer)))).toBe(
      0
    )
    await settle()
    expect(calls.lease).toBe(before)
  })

  it('requests that find no permit wait for the lease on its way instead of each asking', async () => {
    const clock = new TestClock()
    const rule = { limit: 10_000, windowMs: 60_000 }
    const real = limiterSource(uniqueName('gap'), rule, clock)
    let asked = 0
    const source: PermitSource = {
      lease: async (request) => {
        asked++
        // A round trip of 10 ms on the book's clock; a renewal also lands a little late.
        if (request.take === 0) await new Promise((resolve) => setTimeout(resolve, 5))
        clock.now += 10
        return real.lease(request)
      },
      release: (returns) => real.release(returns),
    }
    const { book, defer, settle } = isolate(clock)
    expect(admittedOf([await book.acquire('id', source, policy(10_000), defer)])).toBe(1)
    // 40 at once with 7 held: a few take them, one starts the renewal, the rest find none.
    const results = await burst(40, () => book.acquire('id', source, policy(10_000), defer))
    await settle()
    expect(admittedOf(results)).toBe(40)
    // Asking for each request in the gap would be about 30 calls; waiting, a chain of renewals
    // (each sized by demand, at least a lease of 8) serves them.
    expect(asked).toBeLessThanOrEqual(1 + Math.ceil(33 / 8) + 2)
  })

  it('a request in the gap waits for a renewal that never lands only about two round trips, then asks', async () => {
    const clock = new TestClock()
    const rule = { limit: 1000, windowMs: 60_000 }
    const real = limiterSource(uniqueName('gap-hang'), rule, clock)
    let hang = false
    let ownCalls = 0
    const source: PermitSource = {
      lease: async (request) => {
        // A round trip of 100 ms on the book's clock; then a limiter whose renewals never answer.
        clock.now += 100
        if (request.take === 1 && hang) ownCalls++
        if (hang && request.take === 0) await new Promise(() => {})
        return real.lease(request)
      },
      release: (returns) => real.release(returns),
    }
    const { book, defer } = isolate(clock)
    // A long deadline: the hanging renewal stays in flight for the whole test.
    const slow = policy(1000, 8, 10_000)
    expect(admittedOf([await book.acquire('id', source, slow, defer)])).toBe(1)
    hang = true
    // Uses the held permits; the renewal started on the way never lands.
    for (let i = 0; i < 7; i++) {
      expect(admittedOf([await book.acquire('id', source, slow, defer)])).toBe(1)
    }
    // None held, that renewal in flight: a wait of about two round trips (200 ticks of 1 ms), not
    // until the 10 s deadline, then the request's own call.
    const started = performance.now()
    expect(admittedOf([await book.acquire('id', source, slow, defer)])).toBe(1)
    expect(ownCalls).toBe(1)
    expect(performance.now() - started).toBeLessThan(8000)
  })

  it('a renewal that fails or hangs costs no request anything, and its late grant goes back', async () => {
    const clock = new TestClock()
    const rule = { limit: 50, windowMs: 60_000 }
    const real = limiterSource(uniqueName('prefetch-hang'), rule, clock)
    let hang = false
    const source: PermitSource = {
      lease: async (request) => {
        if (hang && request.take === 0) await new Promise((resolve) => setTimeout(resolve, 200))
        return real.lease(request)
      },
      release: (returns) => real.release(returns),
    }
    const { book, defer, settle } = isolate(clock)
    expect(admittedOf([await book.acquire('id', source, policy(50, 8, 50), defer)])).toBe(1)
    hang = true
    // Uses the held permits; the renewal started at half a lease hangs past its 50 ms deadline.
    for (let i = 0; i < 7; i++) {
      expect(admittedOf([await book.acquire('id', source, policy(50, 8, 50), defer)])).toBe(1)
    }
    await settle()
    // The late grant's permits are reported with the next call, so the window gets them back.
    await new Promise((resolve) => setTimeout(resolve, 250))
    hang = false
    const other = isolate(clock)
    expect(
      admittedOf(await burst(60, () => other.book.acquire('id', source, policy(50, 1))))
    ).toBeLessThanOrEqual(50 - 8)
    expect(admittedOf([await book.acquire('id', source, policy(50, 8, 50))])).toBe(1)
  })
})
