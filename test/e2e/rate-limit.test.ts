import { describe, expect, inject, it } from 'vitest'

const workerUrl = inject('workerUrl')

// wrangler.toml's example rule: /search, 120 per 60 s per CF-Connecting-IP. A random address gives
// this test its own window, whatever else has run.
const ip = () =>
  `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`

// 150 concurrent requests through one Durable Object under `wrangler dev`: seconds on a busy machine.
const HEAVY_TIMEOUT_MS = 60_000

describe('rate limiting under wrangler dev', () => {
  it(
    'admits exactly the limit from one client, then answers 429 with Retry-After',
    async () => {
      const client = ip()
      const responses = await Promise.all(
        Array.from({ length: 150 }, () =>
          fetch(`${workerUrl}/search?q=rl`, { headers: { 'cf-connecting-ip': client } })
        )
      )
      await Promise.all(responses.map((r) => r.arrayBuffer()))
      expect(responses.filter((r) => r.status === 200)).toHaveLength(120)
      const rejected = responses.filter((r) => r.status === 429)
      expect(rejected).toHaveLength(30)
      expect(Number(rejected[0]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
      expect(rejected[0]!.headers.get('ratelimit-policy')).toBe('"search-per-ip";q=120;w=60')

      const other = await fetch(`${workerUrl}/search?q=rl`, {
        headers: { 'cf-connecting-ip': ip() },
      })
      expect(other.status).toBe(200)
      // t: the window's 60 s less the limiter's round trip (a second or more on a busy machine).
      expect(other.headers.get('ratelimit')).toMatch(/^"search-per-ip";r=119;t=(5\d|60)$/)
    },
    HEAVY_TIMEOUT_MS
  )
})
