import type { Scenario } from '../lib/types'
import { cost } from './cost'
import { hitLoop } from './hit-loop'
import { l1Hit } from './l1-hit'
import { l2 } from './l2'
import { purge } from './purge'
import { rateLimit } from './rate-limit'
import { stampedeScenario } from './stampede'

/** Every scenario, in the order `npm run bench` runs them. Add new ones here. */
export const scenarios: readonly Scenario[] = [
  l1Hit,
  hitLoop,
  l2,
  purge,
  rateLimit,
  stampedeScenario,
  cost,
]
