/**
 * The conformance table (test/conformance) against the whole local stack: `wrangler dev` with three
 * simulated L2 regions and the demo origin, over real HTTP (Content-Length, encodings and ranges as a
 * client sees them on the wire).
 */
import { beforeAll, describe, inject, it } from 'vitest'
import type { ConformanceHarness } from '../conformance/row'
import { toAnswer } from '../conformance/row'
import { conformanceTable } from '../conformance/table'
import { settleRegions } from './simulated-client'

const workerUrl = inject('workerUrl')
const originUrl = inject('originUrl')
const run = crypto.randomUUID().slice(0, 8)
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
/** Background writes (L1, L2) have no completion signal over HTTP: give them a moment. */
const SETTLE_MS = 150

function echoPath(name: string, headers: Record<string, string> = {}, extra = ''): string {
  const query = new URLSearchParams()
  for (const [field, value] of Object.entries(headers)) query.set(`h-${field}`, value)
  const qs = query.toString()
  return `/echo/${name}${qs || extra ? '?' : ''}${qs}${qs && extra ? '&' : ''}${extra}`
}

function harness(rowId: string): ConformanceHarness {
  return {
    where: 'e2e',
    echo: (name, headers, extra, prefix) =>
      echoPath(`${prefix ? `${prefix}/` : ''}${run}-${rowId}/${name}`, headers, extra),
    send: async (path, init = {}) => {
      const headers = new Headers(init.headers)
      if (!headers.has('x-sim-colo')) headers.set('x-sim-colo', 'LHR')
      const answer = await toAnswer(await fetch(`${workerUrl}${path}`, { ...init, headers }))
      await sleep(SETTLE_MS)
      return answer
    },
    fetches: async (path) => {
      const stats = (await (await fetch(`${originUrl}/__origin/stats`)).json()) as {
        byPath: Record<string, number>
      }
      return stats.byPath[path.split('?')[0]!] ?? 0
    },
    sleep,
  }
}

beforeAll(async () => {
  await settleRegions()
})

describe('RFC 9111 / 9110 / 9213 conformance (wrangler dev)', () => {
  for (const row of conformanceTable) {
    it(`${row.section}: ${row.requirement} [${row.id}]`, () => row.run(harness(row.id)))
  }
})
