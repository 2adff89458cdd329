/**
 * tools/regions: three simulated L2 regions (real redis-servers behind the REST endpoint), their
 * latency matrix, stop/start/crash, and the control API, spoken to with the official client.
 */
import { Redis } from '@upstash/redis'
import { createClient } from 'redis'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { pingRedis } from '../../tools/lib/redis-server'
import { startRegions, type Regions, type RegionStatus } from '../../tools/regions'

const SCALE = 0.1
let regions: Regions

/** A client in `from` talking to region `to`, as the simulated Worker does. */
function client(to: string, from: string): Redis {
  const region = regions.regions.find((r) => r.name === to)!
  return new Redis({
    url: `${region.url}/from/${from}`,
    token: region.token,
    retry: false,
    automaticDeserialization: false,
    enableTelemetry: false,
  })
}

async function control(
  method: 'GET' | 'POST',
  path: string,
  body?: string
): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${regions.controlUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body,
  })
  return { status: response.status, json: await response.json() }
}

async function regionStatus(name: string): Promise<RegionStatus> {
  const { json } = await control('GET', '/regions')
  return (json as { regions: RegionStatus[] }).regions.find((r) => r.name === name)!
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now()
  await work()
  return performance.now() - started
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!

beforeAll(async () => {
  regions = await startRegions({ latencyScale: SCALE })
})
afterAll(async () => {
  await regions?.stop()
})
beforeEach(async () => {
  await regions.reset()
})

describe('regions', () => {
  it('three regions, the shared token and L2_REGIONS JSON', () => {
    expect(regions.regions.map((r) => r.name)).toEqual(['us-east', 'eu-west', 'ap-south'])
    expect(new Set(regions.regions.map((r) => r.url)).size).toBe(3)
    expect(JSON.parse(regions.l2RegionsJson)).toEqual(regions.regions)
    expect(regions.latencyMs['ap-south']!['us-east']).toBeCloseTo(100 * SCALE)
    expect(regions.latencyMs['eu-west']!['eu-west']).toBeCloseTo(1 * SCALE)
  })

  it('set/get/pipeline/multi through the prefix; each region has its own data', async () => {
    const us = client('us-east', 'eu-west')
    expect(await us.set('k', 'us')).toBe('OK')
    const p = us.pipeline()
    p.incr('n').get('k')
    expect(await p.exec()).toEqual([1, 'us'])
    const tx = us.multi()
    tx.incr('n').get('n')
    expect(await tx.exec()).toEqual([2, '2'])
    const eu = client('eu-west', 'eu-west')
    expect(await eu.get('k')).toBeNull()
  })

  it('counts requests per client region, in stats() and in the control API', async () => {
    await client('us-east', 'eu-west').get('a')
    await client('us-east', 'eu-west').get('b')
    await client('us-east', 'ap-south').get('c')
    await client('ap-south', 'ap-south').get('d')
    expect(regions.stats()).toEqual({
      'us-east': { requests: { 'eu-west': 2, 'ap-south': 1 }, errors: 0 },
      'eu-west': { requests: {}, errors: 0 },
      'ap-south': { requests: { 'ap-south': 1 }, errors: 0 },
    })
    const us = await regionStatus('us-east')
    expect(us).toMatchObject({
      name: 'us-east',
      up: true,
      fault: {},
      stats: { requests: { 'eu-west': 2, 'ap-south': 1 }, errors: 0 },
    })
    expect(us.latencyMs['ap-south']).toBeCloseTo(100 * SCALE)
    regions.resetStats()
    expect((await regionStatus('us-east')).stats).toEqual({ requests: {}, errors: 0 })
  })

  it('applies the latency matrix: ap-south → us-east costs 2 × 100 × scale, same region far less', async () => {
    const far = client('us-east', 'ap-south')
    const mid = client('us-east', 'eu-west')
    const near = client('us-east', 'us-east')
    for (const c of [far, mid, near]) await c.ping() // warm the connections
    const samples = { far: [] as number[], mid: [] as number[], near: [] as number[] }
    for (let i = 0; i < 5; i++) {
      samples.far.push(await timed(() => far.ping()))
      samples.mid.push(await timed(() => mid.ping()))
      samples.near.push(await timed(() => near.ping()))
    }
    // Timers never fire early: the lower bounds hold on any machine (1 ms for rounding).
    expect(Math.min(...samples.far)).toBeGreaterThanOrEqual(2 * 100 * SCALE - 1)
    expect(Math.min(...samples.mid)).toBeGreaterThanOrEqual(2 * 40 * SCALE - 1)
    expect(median(samples.near) + 5).toBeLessThan(median(samples.far))
    expect(median(samples.mid)).toBeLessThan(median(samples.far))
  })

  it('stopRegion: connection refused quickly, up:false; startRegion: back on the same URL, empty', async () => {
    const eu = client('eu-west', 'us-east')
    await eu.set('k', 'v')
    const url = regions.regions[1]!.url
    await regions.stopRegion('eu-west')
    await regions.stopRegion('eu-west') // idempotent
    let failure: unknown
    const ms = await timed(() => eu.get('k').catch((error: unknown) => (failure = error)))
    expect(failure).toBeInstanceOf(Error)
    expect(ms).toBeLessThan(2000)
    expect(await regionStatus('eu-west')).toMatchObject({ up: false, url })
    expect(await client('us-east', 'us-east').ping()).toBe('PONG') // the others carry on

    await regions.startRegion('eu-west')
    await regions.startRegion('eu-west') // idempotent
    expect(await regionStatus('eu-west')).toMatchObject({ up: true, url })
    expect(await eu.get('k')).toBeNull() // no persistence
    expect(await eu.set('k', 'again')).toBe('OK')
  })

  it('the same through the control API', async () => {
    const ap = client('ap-south', 'ap-south')
    const stopped = await control('POST', '/regions/ap-south/stop')
    expect(stopped).toMatchObject({ status: 200, json: { name: 'ap-south', up: false } })
    await expect(ap.ping()).rejects.toThrow()
    const started = await control('POST', '/regions/ap-south/start')
    expect(started).toMatchObject({ status: 200, json: { name: 'ap-south', up: true } })
    expect(await ap.ping()).toBe('PONG')
  })

  it('a crashed redis-server: quick 5xx the client throws, up:false, startRegion recovers', async () => {
    const us = client('us-east', 'us-east')
    await us.set('k', 'v')
    await regions.killRedis('us-east')
    let failure: unknown
    const ms = await timed(() => us.get('k').catch((error: unknown) => (failure = error)))
    expect(String(failure)).toMatch(/redis unavailable/)
    expect(ms).toBeLessThan(500)
    expect(await regionStatus('us-east')).toMatchObject({ up: false, stats: { errors: 1 } })
    await regions.startRegion('us-east')
    expect(await us.get('k')).toBeNull()
  })

  it('faults through the control API: down, errorRate, extraLatencyMs; reset clears them', async () => {
    const eu = client('eu-west', 'eu-west')
    const down = await control('POST', '/regions/eu-west/fault', '{"down":true}')
    expect(down).toMatchObject({ status: 200, json: { fault: { down: true } } })
    await expect(eu.ping()).rejects.toThrow(/service unavailable/)
    await control('POST', '/regions/eu-west/fault', '{"errorRate":1}')
    await expect(eu.ping()).rejects.toThrow(/injected fault/)
    await control('POST', '/regions/eu-west/fault', '{"extraLatencyMs":80}')
    expect(await timed(() => eu.ping())).toBeGreaterThanOrEqual(79)
    expect((await regionStatus('eu-west')).stats.errors).toBe(2)

    await regions.stopRegion('us-east')
    const reset = await control('POST', '/regions/reset')
    expect(reset.status).toBe(200)
    for (const region of (reset.json as { regions: RegionStatus[] }).regions) {
      expect(region).toMatchObject({ up: true, fault: {}, stats: { requests: {}, errors: 0 } })
    }
    expect(await eu.ping()).toBe('PONG')
  })

  it('partition: requests fail (503) while redis-server keeps its data; heal and reset bring it back as it was', async () => {
    const ap = client('ap-south', 'eu-west')
    await ap.set('kept', 'before')
    await control('POST', '/regions/ap-south/fault', '{"extraLatencyMs":5}')
    const cut = await control('POST', '/regions/ap-south/partition')
    expect(cut).toMatchObject({
      status: 200,
      json: { up: true, partitioned: true, fault: { down: true, extraLatencyMs: 5 } },
    })
    await expect(ap.get('kept')).rejects.toThrow(/service unavailable/)
    await expect(ap.set('kept', 'during')).rejects.toThrow(/service unavailable/)
    // The data is still there, read straight from its redis-server.
    const direct = createClient({ url: (await regionStatus('ap-south')).redisUrl })
    await direct.connect()
    try {
      expect(await direct.get('kept')).toBe('before')
    } finally {
      await direct.quit()
    }
    const healed = await control('POST', '/regions/ap-south/heal')
    // Only the partition ends: the other fault stays.
    expect(healed).toMatchObject({
      status: 200,
      json: { partitioned: false, fault: { extraLatencyMs: 5 } },
    })
    expect((healed.json as RegionStatus).fault.down).toBeUndefined()
    expect(await ap.get('kept')).toBe('before')
    await control('POST', '/regions/ap-south/partition')
    await regions.reset()
    expect(await regionStatus('ap-south')).toMatchObject({ partitioned: false, fault: {} })
    expect(await ap.get('kept')).toBe('before')
    for (const path of ['/regions/mars/partition', '/regions/mars/heal']) {
      expect((await control('POST', path)).status, path).toBe(404)
    }
  })

  it('control API validation: 400 for bad faults, 404 for unknown regions and paths', async () => {
    for (const body of [
      'not json',
      '{"errorRate":2}',
      '{"extraLatencyMs":-1}',
      '{"down":"yes"}',
      '{"bogus":1}',
      '[]',
    ]) {
      const { status, json } = await control('POST', '/regions/eu-west/fault', body)
      expect(status, body).toBe(400)
      expect(json).toEqual({ error: expect.any(String) })
    }
    expect((await regionStatus('eu-west')).fault).toEqual({})
    for (const path of ['/regions/mars/stop', '/regions/mars/start', '/regions/mars/fault']) {
      const { status, json } = await control('POST', path, '{}')
      expect(status, path).toBe(404)
      expect(json).toEqual({ error: expect.stringMatching(/unknown region mars/) })
    }
    expect((await control('GET', '/nope')).status).toBe(404)
  })
})

it('stop() leaves nothing listening and no redis-server behind', async () => {
  const own = await startRegions({
    names: ['a', 'b'],
    latencyMs: { a: { a: 0, b: 5 }, b: { b: 0 } },
  })
  const statuses = own.status()
  expect(statuses.map((s) => s.latencyMs)).toEqual([
    { a: 0, b: 5 },
    { a: 5, b: 0 },
  ])
  await own.stop()
  for (const { url, redisUrl } of statuses) {
    expect(await pingRedis(Number(new URL(redisUrl).port))).toBe(false)
    await expect(fetch(url, { method: 'POST' })).rejects.toThrow()
  }
  await expect(fetch(`${own.controlUrl}/regions`)).rejects.toThrow()
  await expect(startRegions({ names: ['a', 'z'], latencyMs: { a: { a: 0 } } })).rejects.toThrow(
    /no latency given between a and z/
  )
})
