import type { ConformanceRow } from '../row'

export const authorizationRows: ConformanceRow[] = []
