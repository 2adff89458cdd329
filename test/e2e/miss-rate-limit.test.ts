import { describe, expect, inject, it } from 'vitest'

const workerUrl = inject('workerUrl')
const originUrl = inject('originUrl')

// global-setup.ts adds the rule: /echo/e2e-miss/**, 5 origin-reaching requests per 60 s per
// CF-Connecting-IP. A random address and a random path prefix give this test its own window and keys.
const ip = () =>
  `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`
const CACHEABLE = '?h-cache-control=max-age%3D60'

async function originFetches(prefix: string): Promise<number> {
  const stats = (await (await fetch(`${originUrl}/__origin/stats`)).json()) as {
    byPath: Record<string, number>
  }
  return Object.entries(stats.byPath)
    .filter(([path]) => path.startsWith(prefix))
    .reduce((sum, [, n]) => sum + n, 0)
}

describe('miss-rate limits under wrangler dev', () => {
  it('cuts a flood of distinct misses at the limit; the same client’s hits stay unlimited', async () => {
    const client = ip()
    const prefix = `/echo/e2e-miss/${crypto.randomUUID()}`
    const get = (path: string, who = client) =>
      fetch(`${workerUrl}${path}${CACHEABLE}`, { headers: { 'cf-connecting-ip': who } })
    const paths = Array.from({ length: 20 }, (_, i) => `${prefix}/${i}`)
    const flood = await Promise.all(paths.map((path) => get(path)))
    await Promise.all(flood.map((r) => r.arrayBuffer()))
    const admitted = paths.filter((_, i) => flood[i]!.status === 200)
    const refused = flood.filter((r) => r.status === 429)
    expect(admitted).toHaveLength(5)
    expect(refused).toHaveLength(15)
    expect(Number(refused[0]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(refused[0]!.headers.get('ratelimit-policy')).toBe('"e2e-misses";q=5;w=60')
    expect(refused[0]!.headers.get('ratelimit')).toMatch(/^"e2e-misses";r=0;t=\d+$/)
    expect(await originFetches(prefix)).toBe(5)

    // Hits of the admitted keys: as many as the client likes, no RateLimit fields.
    const hits = await Promise.all(
      Array.from({ length: 50 }, (_, i) => get(admitted[i % admitted.length]!))
    )
    await Promise.all(hits.map((r) => r.arrayBuffer()))
    expect(hits.map((r) => r.status)).toEqual(new Array(50).fill(200))
    expect(hits.every((r) => /; hit;/.test(r.headers.get('cache-status') ?? ''))).toBe(true)
    expect(hits.every((r) => r.headers.get('ratelimit') === null)).toBe(true)
    // Still cut off at the origin's door; another client is not.
    const again = await get(`${prefix}/new`)
    await again.arrayBuffer()
    expect(again.status).toBe(429)
    const other = await get(`${prefix}/new`, ip())
    await other.arrayBuffer()
    expect(other.status).toBe(200)
    // t: the window's 60 s less the limiter's round trip (a second or more on a busy machine).
    expect(other.headers.get('ratelimit')).toMatch(/^"e2e-misses";r=4;t=(5\d|60)$/)
    expect(await originFetches(prefix)).toBe(6)
  })
})
