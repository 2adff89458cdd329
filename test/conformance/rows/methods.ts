import type { ConformanceRow } from '../row'

export const methodRows: ConformanceRow[] = []
