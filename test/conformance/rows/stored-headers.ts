import type { ConformanceRow } from '../row'

export const storedHeaderRows: ConformanceRow[] = []
