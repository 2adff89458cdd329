import type { ConformanceRow } from '../row'

export const parsingRows: ConformanceRow[] = []
