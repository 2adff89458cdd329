/** The conformance table (test/conformance) inside workerd: the Worker called directly, origin in Node. */
import { describe, it } from 'vitest'
import type { ConformanceHarness } from '../conformance/row'
import { toAnswer } from '../conformance/row'
import { conformanceTable } from '../conformance/table'
import { echo, originStats, send, sleep } from '../helpers/worker'

function harness(rowId: string): ConformanceHarness {
  return {
    where: 'workerd',
    echo: (name, headers, extra, prefix) =>
      echo(`${prefix ? `${prefix}/` : ''}${rowId}/${name}`, headers, extra),
    send: async (path, init) => toAnswer(await send(path, init)),
    fetches: async (path) => (await originStats()).byPath[path.split('?')[0]!] ?? 0,
    sleep,
  }
}

describe('RFC 9111 / 9110 / 9213 conformance (workerd)', () => {
  for (const row of conformanceTable) {
    it(`${row.section}: ${row.requirement} [${row.id}]`, () => row.run(harness(row.id)))
  }
})
