import type { ConformanceRow } from '../row'

export const freshnessRows: ConformanceRow[] = []
