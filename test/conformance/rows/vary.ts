import type { ConformanceRow } from '../row'

export const varyRows: ConformanceRow[] = []
