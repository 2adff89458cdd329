import type { ConformanceRow } from './row'
import { freshnessRows } from './rows/freshness'
import { statusRows } from './rows/status'
import { targetedFieldRows } from './rows/targeted-fields'
import { parsingRows } from './rows/parsing'
import { requestDirectiveRows } from './rows/request-directives'
import { authorizationRows } from './rows/authorization'
import { storedHeaderRows } from './rows/stored-headers'
import { varyRows } from './rows/vary'
import { rangeRows } from './rows/ranges'
import { methodRows } from './rows/methods'

/** Every row, in the order the conformance docs list them. Each rows/*.ts file is one topic. */
export const conformanceTable: readonly ConformanceRow[] = [
  ...freshnessRows,
  ...statusRows,
  ...targetedFieldRows,
  ...parsingRows,
  ...requestDirectiveRows,
  ...authorizationRows,
  ...storedHeaderRows,
  ...varyRows,
  ...rangeRows,
  ...methodRows,
]

const ids = new Set<string>()
for (const row of conformanceTable) {
  if (ids.has(row.id)) throw new Error(`conformance row id repeated: ${row.id}`)
  ids.add(row.id)
}
