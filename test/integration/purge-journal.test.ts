/**
 * The purge journal (no L2): one PurgeJournal Durable Object holds the purge log, so a tag, prefix or
 * URL purge made through one isolate reaches the others (each test's bindings object is an isolate
 * runtime of its own: its memory tier, its purge view) within the bound, and an isolate started after
 * the purge refuses the L1 copies it voids.
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import type { JournalBounds } from '../../durable-objects/purge-journal'
import { MAX_PURGE_LOG_BYTES } from '../../durable-objects/purge-journal'
import { JOURNAL_INSTANCE, JOURNAL_REGION } from '../../src/purge/journal'
import type { PurgeRecord } from '../../src/purge/view'
import { echo, envWithConfig, json, originStats, send } from '../helpers/worker'

const isolate = () =>
  envWithConfig((config) => {
    // The coalescer keeps recent fills of its own; these tests look at the tiers and the views.
    config.coalescer = { enabled: false }
    config.purge = { pollIntervalMs: 10 }
  })

const get = (bindings: object, path: string) => send(path, undefined, undefined, bindings)
const status = (bindings: object, path: string) =>
  get(bindings, path).then((r) => r.headers.get('cache-status') ?? '')
const purge = (bindings: object, body: unknown) =>
  send(
    '/_cache/purge',
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer test-admin-token' },
      body: JSON.stringify(body),
    },
    undefined,
    bindings
  )

interface Report {
  id: string
  scope: string
  regions: { recorded: string[]; missed: unknown[] }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Reads `path` through `bindings` until the copy is refused (a miss), at most `deadlineMs`: a purge
 * reaches another isolate within the bound, not at once. Returns the statuses seen.
 */
async function untilMiss(bindings: object, path: string, deadlineMs = 10_000): Promise<string[]> {
  const seen: string[] = []
  const started = Date.now()
  while (Date.now() - started < deadlineMs) {
    const cacheStatus = await status(bindings, path)
    seen.push(cacheStatus)
    if (cacheStatus.includes('fwd=miss')) return seen
    await sleep(20)
  }
  return seen
}

const journal = () => env.PURGE_JOURNAL.get(env.PURGE_JOURNAL.idFromName(JOURNAL_INSTANCE))

describe('purge journal: purges reach every isolate without L2', () => {
  it('a tag purge through one isolate reaches a second one (its memory copy refused)', async () => {
    const a = isolate()
    const b = isolate()
    const path = echo(`journal-tag-${crypto.randomUUID()}`, {
      'cache-control': 'max-age=300',
      'surrogate-key': 'journal-red',
    })
    await get(a, path)
    expect(await status(b, path)).toContain('hit')
    // Now in b's memory tier too: only b's view can refuse it there.
    expect(await status(b, path)).toContain('hit')
    const response = await purge(a, { tags: ['journal-red'] })
    expect(response.status).toBe(200)
    const report = await json<Report>(response)
    expect(report.regions.recorded).toEqual([JOURNAL_REGION])
    expect(report.scope).toContain('purge journal')
    const seen = await untilMiss(b, path)
    expect(seen.at(-1)).toContain('fwd=miss')
    const applied = await send(
      `/_cache/purge/${report.id}`,
      { headers: { authorization: 'Bearer test-admin-token' } },
      undefined,
      b
    )
    expect(await json(applied)).toMatchObject({ id: report.id, applied: true })
  })

  it('prefix and URL purges reach a second isolate too', async () => {
    const a = isolate()
    const b = isolate()
    const run = crypto.randomUUID()
    const inside = echo(`journal-pfx-${run}/1`, { 'cache-control': 'max-age=300' })
    const url = echo(`journal-url-${run}`, { 'cache-control': 'max-age=300' })
    const outside = echo(`journal-out-${run}`, { 'cache-control': 'max-age=300' })
    for (const path of [inside, url, outside]) {
      await get(a, path)
      await get(b, path)
      expect(await status(b, path)).toContain('hit')
    }
    expect((await purge(a, { prefixes: [`/echo/journal-pfx-${run}/`] })).status).toBe(200)
    expect((await purge(a, { urls: [`https://cache.test${url}`] })).status).toBe(200)
    expect((await untilMiss(b, inside)).at(-1)).toContain('fwd=miss')
    expect((await untilMiss(b, url)).at(-1)).toContain('fwd=miss')
    expect(await status(b, outside)).toContain('hit')
  })

  it('an isolate started after a tag purge refuses the L1 copy it voided, at its first read', async () => {
    const a = isolate()
    const path = echo(`journal-late-${crypto.randomUUID()}`, {
      'cache-control': 'max-age=300',
      'surrogate-key': 'journal-late',
    })
    await get(a, path)
    expect(await status(a, path)).toContain('hit')
    const before = (await originStats()).byPath[path.split('?')[0]!] ?? 0
    expect((await purge(a, { tags: ['journal-late'] })).status).toBe(200)
    // A new isolate: its view is empty until its first journal read, which that read waits for.
    const late = isolate()
    expect(await status(late, path)).toContain('fwd=miss')
    expect((await originStats()).byPath[path.split('?')[0]!]).toBe(before + 1)
  })

  it('a journal that does not answer: the purge says it reached this isolate only (503), reads go on', async () => {
    const failing = {
      idFromName: () => ({}),
      get: () => ({
        append: () => Promise.reject(new Error('journal down')),
        read: () => Promise.reject(new Error('journal down')),
        has: () => Promise.reject(new Error('journal down')),
      }),
    }
    const bindings = { ...isolate(), PURGE_JOURNAL: failing }
    const path = echo(`journal-down-${crypto.randomUUID()}`, { 'cache-control': 'max-age=300' })
    for (let i = 0; i < 5; i++) expect((await get(bindings, path)).status).toBe(200)
    const response = await purge(bindings, { tags: ['journal-down'] })
    expect(response.status).toBe(503)
    const report = await json<Report>(response)
    expect(report.regions.recorded).toEqual([])
    expect(report.scope).toContain('this isolate')
    // With its breaker open the journal counts as down: memory and L1 serve (availability first).
    const statuses = []
    for (let i = 0; i < 5; i++) statuses.push(await status(bindings, path))
    expect(statuses.at(-1)).toContain('hit')
  })
})

describe('PurgeJournal object', () => {
  const bounds: JournalBounds = { maxEntries: 100, horizonMs: 86_400_000 }
  const record = (id: string, size = 0): PurgeRecord => ({
    id,
    at: Date.now(),
    keys: size > 0 ? ['x'.repeat(size)] : [],
    tags: ['t'],
    prefixes: [],
    soft: false,
  })

  it('reads in order after a cursor; appending a record it holds is a no-op', async () => {
    const stub = journal()
    const first = await stub.append(record('j-1'), bounds)
    const second = await stub.append(record('j-2'), bounds)
    expect(await stub.append(record('j-1'), bounds)).toBe(first)
    const page = await stub.read(first, 10, bounds)
    expect(page.records.map((r) => r.id)).toEqual(['j-2'])
    expect(page.last).toBe(second)
    expect(await stub.has('j-2')).toBe(true)
    expect(await stub.has('nope')).toBe(false)
  })

  it('is bounded by records and by bytes; hostile cursors read from the horizon', async () => {
    const stub = journal()
    for (let i = 0; i < 150; i++) await stub.append(record(`b-${i}`), bounds)
    const all = await stub.read(undefined, 1000, bounds)
    expect(all.records.length).toBeLessThanOrEqual(bounds.maxEntries)
    expect(all.records.at(-1)!.id).toBe('b-149')
    // 100 KiB keys: 8 MiB holds fewer than 90 of them.
    const big = { maxEntries: 10_000, horizonMs: bounds.horizonMs }
    for (let i = 0; i < 100; i++) await stub.append(record(`big-${i}`, 100 * 1024), big)
    const kept = await stub.read(undefined, 10_000, big)
    const bytes = kept.records.reduce((sum, r) => sum + JSON.stringify(r).length, 0)
    expect(bytes).toBeLessThanOrEqual(MAX_PURGE_LOG_BYTES)
    expect(kept.records.at(-1)!.id).toBe('big-99')
    for (const cursor of ['garbage', '', '99999999999999999999-1', '-1', '1-99999999']) {
      const page = await stub.read(cursor, 5, big)
      expect(page.records.length).toBeLessThanOrEqual(5)
    }
  })
})
