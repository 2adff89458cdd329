import { env, runInDurableObject } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { coalescerName } from '../../src/coalesce/shard'
import {
  cacheStatus,
  echo,
  envWithConfig,
  json,
  originControl,
  originStats,
  send,
  sleep,
} from '../helpers/worker'

// Origin deadline 300 ms, followers give up after 600 ms: a hanging origin is noticed quickly. A new
// env per test: each gets its own config, hence its own origin breaker.
const shortDeadlines = () =>
  envWithConfig((config) => {
    config.origin = { timeoutMs: 300 }
    config.coalescer = { waitTimeoutMs: 600 }
  })

const noCoalescing = envWithConfig((config) => {
  config.coalescer = { enabled: false }
})

describe('Coalescer: one origin fetch per key', () => {
  it(
    '1000 concurrent requests for one cold key reach the origin once, all with the same body',
    { timeout: 60_000 },
    async () => {
      await originControl('latency', { ms: 300 })
      const path = echo('stampede', { 'cache-control': 'max-age=60' })
      const responses = await Promise.all(Array.from({ length: 1000 }, () => send(path)))
      const bodies = await Promise.all(responses.map((response) => response.text()))
      expect(responses.every((response) => response.status === 200)).toBe(true)
      expect(new Set(bodies).size).toBe(1)
      expect((await originStats()).byPath['/echo/stampede']).toBe(1)

      const statuses = responses.map(cacheStatus)
      const leaders = statuses.filter((s) => /fwd=miss; ttl=\d+; stored$/.test(s))
      const collapsed = statuses.filter((s) => s.includes('; collapsed'))
      // Exactly one request caused the fetch; the others waited on it in the Coalescer object
      // (`collapsed`) or, arriving after its answer was stored, were hits.
      expect(leaders).toHaveLength(1)
      expect(collapsed.length).toBeGreaterThan(500)
      expect(
        leaders.length + collapsed.length + statuses.filter((s) => s.includes('; hit;')).length
      ).toBe(1000)
    }
  )

  it('without coalescing, the same stampede reaches the origin many times', async () => {
    await originControl('latency', { ms: 300 })
    const path = echo('stampede-off', { 'cache-control': 'max-age=60' })
    await Promise.all(Array.from({ length: 50 }, () => send(path, {}, undefined, noCoalescing)))
    expect((await originStats()).byPath['/echo/stampede-off']).toBeGreaterThan(1)
  })

  it('a leader whose origin hangs: followers get a timely 504, nothing stays locked', async () => {
    const bindings = shortDeadlines()
    await originControl('fail', { mode: 'hang' })
    const path = echo('hang-cold', { 'cache-control': 'max-age=60' })
    const started = Date.now()
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => send(path, {}, undefined, bindings))
    )
    const elapsed = Date.now() - started
    expect(responses.map((response) => response.status)).toEqual(new Array(50).fill(504))
    // Bounded by the origin deadline (300 ms), not the hang (which never ends on its own); the bound
    // is generous: 50 requests through one object take a while on a busy machine.
    expect(elapsed).toBeLessThan(5000)
    expect(responses.filter((r) => cacheStatus(r).includes('collapsed')).length).toBe(49)
    expect((await originStats()).byPath['/echo/hang-cold']).toBe(1)

    // No stuck lock: the next request fetches again and succeeds.
    await originControl('fail', { mode: 'off' })
    const next = await send(path, {}, undefined, bindings)
    expect(next.status).toBe(200)
    expect(cacheStatus(next)).toMatch(/fwd=miss; ttl=\d+; stored$/)
    expect((await originStats()).byPath['/echo/hang-cold']).toBe(2)
  })

  it('a leader whose origin hangs: followers with a stale copy get it within stale-if-error', async () => {
    const bindings = shortDeadlines()
    const path = echo('hang-stale', { 'cache-control': 'max-age=1, stale-if-error=60' })
    const first = await json<{ id: string }>(await send(path, {}, undefined, bindings))
    await sleep(1100)
    await originControl('fail', { mode: 'hang' })
    const started = Date.now()
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => send(path, {}, undefined, bindings))
    )
    // Bounded by the origin deadline, not the hang (generous for a busy machine, as above).
    expect(Date.now() - started).toBeLessThan(5000)
    for (const response of responses) {
      expect(response.status).toBe(200)
      expect(cacheStatus(response)).toMatch(
        /fwd=stale; ttl=-\d+;( collapsed;)? detail=stale-if-error/
      )
      expect((await json<{ id: string }>(response)).id).toBe(first.id)
    }
    expect((await originStats()).byPath['/echo/hang-stale']).toBe(2)
    await originControl('fail', { mode: 'off' })
    const next = await send(path, {}, undefined, bindings)
    expect(next.status).toBe(200)
    expect((await originStats()).byPath['/echo/hang-stale']).toBe(3)
  })

  it('does not hold followers for a response that must not be shared', async () => {
    await originControl('latency', { ms: 100 })
    const path = echo('private', { 'cache-control': 'private, max-age=60' })
    const responses = await Promise.all(Array.from({ length: 5 }, () => send(path)))
    for (const response of responses) {
      expect(response.status).toBe(200)
      expect(cacheStatus(response)).toContain('detail=private')
      expect(cacheStatus(response)).not.toContain('collapsed')
    }
  })

  it('leaves the in-flight map empty after fills, failures and hangs', async () => {
    const path = echo('inflight', { 'cache-control': 'max-age=60' })
    await send(path)
    const stub = env.COALESCER!.get(
      env.COALESCER!.idFromName(
        coalescerName(
          '/echo/inflight?h-cache-control=max-age%3D60',
          { shards: 64, domain: 'region' },
          undefined
        )
      )
    )
    await runInDurableObject(stub, async (instance) => {
      expect(await instance.inFlight()).toBe(0)
    })
  })
})
