import { mkdir } from 'node:fs/promises'
import { chromium, type Browser, type Page } from 'playwright-core'
import { createClient } from 'redis'
import { afterAll, describe, expect, inject, it, onTestFinished } from 'vitest'
import { parseExposition } from '../helpers/prometheus'
import { settleRegions, until } from './simulated-client'

const workerUrl = inject('workerUrl')
const adminToken = inject('adminToken')
const controlUrl = inject('regionsControlUrl')
const SCREENSHOT = 'test-results/dashboard.png'
const CONNECTIONS = 4
/** The load runs until the test stops it (after its mid-load checks), at most this long. */
const LOAD_MAX_MS = 50_000
const MAX_REQUESTS = 20_000

interface Numbers {
  requests: number
  originFetches: number
  rateLimited: number
  purges: number
  stale: number
}

/** The deployment's totals as /_cache/metrics reports them, through the Prometheus parser. */
async function scrape(): Promise<Numbers> {
  const response = await fetch(`${workerUrl}/_cache/metrics`, {
    headers: { authorization: `Bearer ${adminToken}` },
  })
  expect(response.status).toBe(200)
  const { values } = parseExposition(await response.text())
  const sum = (prefix: string) =>
    [...values].filter(([key]) => key.startsWith(prefix)).reduce((total, [, v]) => total + v, 0)
  return {
    requests: sum('edge_cache_requests_total{'),
    originFetches: sum('edge_cache_origin_fetches_total{'),
    rateLimited: sum('edge_cache_rate_limited_total'),
    purges: sum('edge_cache_purges_total'),
    stale: sum('edge_cache_stale_served_total{'),
  }
}

/** The little of the DOM the checks read (the test's types are Node's, not the browser's). */
interface PageDocument {
  body: { dataset: Record<string, string | undefined> }
  querySelector(selector: string): { dataset: Record<string, string | undefined> } | null
}

/** What the page shows (each tile keeps the raw number in data-value), and how many polls it made. */
async function onPage(page: Page): Promise<Numbers & { polls: number }> {
  return page.evaluate(() => {
    const doc = (globalThis as unknown as { document: PageDocument }).document
    const value = (name: string) =>
      Number(doc.querySelector(`[data-metric="${name}"]`)!.dataset.value)
    return {
      polls: Number(doc.body.dataset.polls ?? 0),
      requests: value('requests'),
      originFetches: value('originFetches'),
      rateLimited: value('rateLimited'),
      purges: value('purges'),
      stale: value('stale'),
    }
  })
}

/** Waits until the page has rendered `count` more polls than it had. */
async function nextPolls(page: Page, count = 1): Promise<void> {
  const polls = (await onPage(page)).polls
  await page.waitForFunction(
    (target) =>
      Number(
        (globalThis as unknown as { document: PageDocument }).document.body.dataset.polls ?? 0
      ) >= target,
    polls + count,
    { timeout: 10_000 }
  )
}

/** What each region's redis-server says itself (INFO stats), and the INFO calls its endpoint ran. */
async function regionsDirect(): Promise<Map<string, { evictedKeys: number; infoCalls: number }>> {
  const listed = (await (await fetch(`${controlUrl}/regions`)).json()) as {
    regions: { name: string; redisUrl: string; commands: Record<string, number> }[]
  }
  const out = new Map<string, { evictedKeys: number; infoCalls: number }>()
  for (const { name, redisUrl, commands } of listed.regions) {
    const redis = await createClient({ url: redisUrl }).connect()
    try {
      const info = await redis.info('stats')
      const evictedKeys = Number(/^evicted_keys:(\d+)/m.exec(info)?.[1])
      out.set(name, { evictedKeys, infoCalls: commands.INFO ?? 0 })
    } finally {
      await redis.quit()
    }
  }
  return out
}

/** The dashboard's four headline figures, raw (data-value) and as shown. */
async function headline(page: Page) {
  return page.evaluate(() => {
    const doc = (globalThis as unknown as { document: PageDocument }).document
    const raw = (name: string) => doc.querySelector(`[data-metric="${name}"]`)!.dataset.value
    const text = (name: string) =>
      (doc.querySelector(`[data-metric="${name}"]`) as unknown as { textContent: string })
        .textContent
    return Object.fromEntries(
      ['hitRatio', 'evictions', 'evictionSplit', 'coalesced', 'p50', 'p99'].map((name) => [
        name,
        { value: raw(name), text: text(name) },
      ])
    )
  })
}

/** A cacheable key of this test's own (the stack is shared: other files expect their keys cold). */
const hot = (k: number) => `/echo/dash-hot-${k}?h-cache-control=max-age%3D60`

/**
 * Ten hot keys (hits after their first miss), bypassed /account, and fresh /search queries from one
 * client, which starts with a burst of 130: its rate limit (120 per 60 s) refuses the rest with 429.
 * It goes on until `stop()`, so the checks made under load find it running however long a busy
 * machine takes to reach them.
 */
function startLoad(): { done: () => number; stop: () => void; finished: Promise<void> } {
  let completed = 0
  let stopAt = Date.now() + LOAD_MAX_MS
  const client = `10.${(Date.now() >> 8) % 250}.${Math.floor(Math.random() * 250)}.7`
  const pathFor = (i: number) => {
    const slot = i % 20
    if (slot < 17) return hot(i % 10)
    if (slot < 19) return `/search?q=dash-${i}`
    return '/account'
  }
  const request = async (path: string) => {
    const response = await fetch(workerUrl + path, { headers: { 'cf-connecting-ip': client } })
    await response.arrayBuffer()
    completed++
  }
  let next = 0
  const connection = async () => {
    while (Date.now() < stopAt && next < MAX_REQUESTS) await request(pathFor(next++))
  }
  const burst = Array.from({ length: 130 }, (_, i) => request(`/search?q=dash-burst-${i}`))
  const finished = Promise.all([...burst, ...Array.from({ length: CONNECTIONS }, connection)]).then(
    () => {}
  )
  const stop = () => {
    stopAt = 0
  }
  return { done: () => completed, stop, finished }
}

describe('dashboard in headless Chromium', () => {
  let browser: Browser | undefined

  afterAll(async () => {
    await browser?.close()
  })

  it('shows live numbers that change under load and match /_cache/metrics', async () => {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] })
    const page = await browser.newPage({ viewport: { width: 1440, height: 1100 } })
    const problems: string[] = []
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text())
    })
    page.on('pageerror', (error) => problems.push(String(error)))

    // The page carries no data: it asks for the token, keeps it in sessionStorage, polls with it.
    await page.goto(`${workerUrl}/_cache/dashboard`)
    await page.locator('#token').fill('not-the-token')
    await page.locator('button[type=submit]').click()
    await expect.poll(() => page.locator('#login-error').textContent()).toContain('refused')
    await page.locator('#token').fill(adminToken)
    await page.locator('button[type=submit]').click()
    await nextPolls(page, 1)
    const stored = await page.evaluate(
      () => (globalThis as unknown as { sessionStorage: { length: number } }).sessionStorage.length
    )
    expect(stored).toBe(1)

    const load = startLoad()
    onTestFinished(() => load.stop())
    await nextPolls(page, 2)
    const early = await onPage(page)
    const purge = await fetch(`${workerUrl}/_cache/purge`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ urls: [hot(0)] }),
    })
    expect(purge.status).toBe(200)
    await nextPolls(page, 2)
    const later = await onPage(page)
    expect(later.requests).toBeGreaterThan(early.requests)
    expect(later.originFetches).toBeGreaterThan(early.originFetches)
    expect(later.purges).toBeGreaterThan(early.purges)

    // Mid-load: a page poll made between two reads of the metrics endpoint lies between them, and
    // the endpoint moved by no more than the requests that completed meanwhile (plus those in flight).
    const completedBefore = load.done()
    const before = await scrape()
    await nextPolls(page, 2)
    const shown = await onPage(page)
    const after = await scrape()
    const completedAfter = load.done()
    for (const key of ['requests', 'originFetches', 'rateLimited', 'purges'] as const) {
      expect(shown[key], key).toBeGreaterThanOrEqual(before[key])
      expect(shown[key], key).toBeLessThanOrEqual(after[key])
    }
    expect(after.requests - before.requests).toBeLessThanOrEqual(
      completedAfter - completedBefore + CONNECTIONS
    )
    expect(after.requests).toBeGreaterThan(before.requests)

    // Under load still: the picture for the README and the closing note.
    await mkdir('test-results', { recursive: true })
    await page.screenshot({ path: SCREENSHOT, fullPage: true })

    // Load over: the page settles on exactly what the endpoint reports.
    load.stop()
    await load.finished
    const final = await scrape()
    await nextPolls(page, 2)
    const settled = await onPage(page)
    expect({ ...settled, polls: 0 }).toEqual({ ...final, polls: 0 })
    expect(final.rateLimited).toBeGreaterThan(0)
    expect(final.requests).toBeGreaterThanOrEqual(load.done())

    // Charts drawn; tiers listed; regions shown, or the note that there is no L2.
    expect(await page.locator('canvas').count()).toBe(4)
    expect(await page.locator('#tier-rows tr').count()).toBeGreaterThanOrEqual(2)
    const regionsShown = await page.locator('#regions').isVisible()
    const noL2Shown = await page.locator('#no-l2').isVisible()
    expect(regionsShown).not.toBe(noL2Shown)
    // No script error, no CSP violation (the wrong token's 401 is the only failed load).
    expect(problems.filter((problem) => !problem.includes('status of 401'))).toEqual([])
  }, 60_000)

  it("shows hit ratio, evictions, stampede count and p50/p99; each region's evicted_keys from its own INFO", async () => {
    // Regions up and breakers closed; their endpoints' command counters start at zero.
    await settleRegions()
    const startedAt = Date.now()
    const direct = await regionsDirect()
    browser ??= await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox'],
    })
    const page = await browser.newPage({ viewport: { width: 1440, height: 1100 } })
    await page.goto(`${workerUrl}/_cache/dashboard#token=${encodeURIComponent(adminToken)}`)
    // A round that began while a region was down leaves it unknown until the next one (30 s on).
    await until(
      'every region showing its evicted keys',
      async () => {
        await nextPolls(page, 1)
        const cells = await page.locator('#region-rows td.evicted').allTextContents()
        return cells.length === direct.size && cells.every((cell) => /^\d/.test(cell))
          ? cells
          : undefined
      },
      45_000
    )
    const rows = await page.locator('#region-rows tr').evaluateAll((trs) =>
      trs.map((tr) => {
        const cells = (tr as unknown as { children: ArrayLike<{ textContent: string }> }).children
        return [cells[0]!.textContent, cells[cells.length - 1]!.textContent]
      })
    )
    // The local regions have no maxmemory: the figure is Redis's own, 0 unless it evicted.
    expect(Object.fromEntries(rows)).toEqual(
      Object.fromEntries([...direct].map(([name, { evictedKeys }]) => [name, String(evictedKeys)]))
    )
    const response = await fetch(`${workerUrl}/_cache/metrics`, {
      headers: { authorization: `Bearer ${adminToken}` },
    })
    const { values } = parseExposition(await response.text())
    for (const [name, { evictedKeys }] of direct) {
      expect(values.get(`edge_cache_l2_evicted_keys_total{region="${name}"}`), name).toBe(
        evictedKeys
      )
    }

    // The four headline figures, each a number on the page (the first test made the traffic).
    const shown = await headline(page)
    expect(Number(shown.hitRatio!.value)).toBeGreaterThan(0)
    expect(shown.hitRatio!.text).toMatch(/^\d+\.\d %$/)
    expect(Number(shown.coalesced!.value)).toBeGreaterThanOrEqual(0)
    expect(shown.coalesced!.text).toMatch(/^\d/)
    const l2Evicted = [...direct.values()].reduce((sum, region) => sum + region.evictedKeys, 0)
    expect(Number(shown.evictions!.value)).toBeGreaterThanOrEqual(l2Evicted)
    expect(shown.evictionSplit!.text).toMatch(/^memory [\d,]+ · L2 [\d,]+$/)
    for (const quantile of ['p50', 'p99']) {
      expect(Number(shown[quantile]!.value), quantile).toBeGreaterThan(0)
      expect(shown[quantile]!.text, quantile).toMatch(/^\d/)
    }
    expect(Number(shown.p99!.value)).toBeGreaterThanOrEqual(Number(shown.p50!.value))

    // Scrapes as fast as a client can send them cost no INFO each: one round per 30 s at most
    // (counted by the regions' endpoints since the reset above).
    for (let i = 0; i < 20; i++) {
      const scraped = await fetch(`${workerUrl}/_cache/metrics`, {
        headers: { authorization: `Bearer ${adminToken}` },
      })
      expect(scraped.status).toBe(200)
      await scraped.arrayBuffer()
    }
    const rounds = Math.floor((Date.now() - startedAt) / 30_000) + 1
    for (const [name, { infoCalls }] of await regionsDirect()) {
      expect(infoCalls, name).toBeLessThanOrEqual(rounds)
    }
    await page.close()
  }, 120_000)
})
