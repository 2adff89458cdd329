import type { ConformanceRow } from '../row'

export const statusRows: ConformanceRow[] = []
