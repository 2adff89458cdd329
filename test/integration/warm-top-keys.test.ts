import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import worker from '../../src/index'
import { STATS_INSTANCE } from '../../src/metrics/stats-client'
import {
  ADMIN_TOKEN,
  cacheStatus,
  echo,
  envWithConfig,
  originControl,
  originStats,
  send,
} from '../helpers/worker'

const BASE_URL = 'https://cache.test'
const stored = (name: string) => echo(name, { 'cache-control': 'max-age=300' })

function warmingEnv(warming: Record<string, unknown>): Cloudflare.Env {
  return envWithConfig((config) => {
    config.warming = { baseUrl: BASE_URL, ...warming }
    config.purge = { boundMs: 60_000 }
  }) as Cloudflare.Env
}

async function runScheduled(bindings: object): Promise<void> {
  const ctx = createExecutionContext()
  const controller = createScheduledController({ cron: '*/5 * * * *' })
  await worker.scheduled(controller, bindings as Cloudflare.Env, ctx)
  await waitOnExecutionContext(ctx)
}

/** Requests `path` `times` times as a client would; then this isolate's counts reach Stats. */
async function request(bindings: object, counts: Record<string, number>): Promise<void> {
  for (const [path, times] of Object.entries(counts)) {
    for (let i = 0; i < times; i++) await send(path, {}, BASE_URL, bindings)
  }
  // Reading the stats flushes this isolate's deltas first.
  const read = await send(
    '/_cache/stats',
    { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } },
    BASE_URL,
    bindings
  )
  expect(read.status).toBe(200)
}

async function purge(bindings: object, urls: string[]): Promise<void> {
  const response = await send(
    '/_cache/purge',
    {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ urls }),
    },
    BASE_URL,
    bindings
  )
  expect(response.status).toBe(200)
}

const topPaths = (n: number) =>
  env.STATS!.get(env.STATS!.idFromName(STATS_INSTANCE)).topPaths(n) as Promise<string[]>

describe('scheduled warming of the most requested keys (warming.topKeys)', () => {
  it('warms the N paths most requested lately, after the configured ones', async () => {
    const [hot, warm, cold, listed] = ['tk-hot', 'tk-warm', 'tk-cold', 'tk-listed'].map(stored)
    const bindings = warmingEnv({ urls: [listed!], topKeys: 2 })
    await request(bindings, { [hot!]: 6, [warm!]: 4, [cold!]: 1, '/account': 9 })
    // Bypassed routes are not lookups: never counted.
    expect((await topPaths(100)).slice(0, 2)).toEqual([hot, warm])
    expect(await topPaths(100)).not.toContain('/account')
    await purge(bindings, [hot!, warm!, cold!])
    await originControl('reset')

    await runScheduled(bindings)
    expect((await originStats()).byPath).toEqual({
      '/echo/tk-listed': 1,
      '/echo/tk-hot': 1,
      '/echo/tk-warm': 1,
    })
    expect(cacheStatus(await send(hot!, {}, BASE_URL, bindings))).toMatch(/; hit; /)
    expect(cacheStatus(await send(cold!, {}, BASE_URL, bindings))).toContain('fwd=miss')
  })

  it('topKeys 0 (the default): paths are neither counted nor warmed', async () => {
    const path = stored('tk-off')
    const bindings = warmingEnv({ urls: [stored('tk-off-listed')] })
    await request(bindings, { [path]: 5 })
    expect(await topPaths(100)).not.toContain(path)
    await purge(bindings, [path])
    await originControl('reset')
    await runScheduled(bindings)
    expect((await originStats()).byPath).toEqual({ '/echo/tk-off-listed': 1 })
  })

  it('without an answer from the Stats object, the configured list is still warmed', async () => {
    const bindings = {
      ...warmingEnv({ urls: [stored('tk-no-stats')], topKeys: 5 }),
      STATS: {
        idFromName: (name: string) => env.STATS!.idFromName(name),
        get: () => ({
          topPaths: () => Promise.reject(new Error('stats down')),
          record: () => Promise.reject(new Error('stats down')),
        }),
      },
    }
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    await runScheduled(bindings)
    expect((await originStats()).byPath).toEqual({ '/echo/tk-no-stats': 1 })
    expect(errors.mock.calls.some(([line]) => String(line).includes('warm_top_keys'))).toBe(true)
    errors.mockRestore()
  })
})
