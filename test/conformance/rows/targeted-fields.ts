import type { ConformanceRow } from '../row'

export const targetedFieldRows: ConformanceRow[] = []
