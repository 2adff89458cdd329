import type { ConformanceRow } from '../row'

export const rangeRows: ConformanceRow[] = []
