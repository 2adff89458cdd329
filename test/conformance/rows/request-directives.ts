import type { ConformanceRow } from '../row'

export const requestDirectiveRows: ConformanceRow[] = []
