/**
 * The coalescing feature's public module: what the Coalescer Durable Object
 * (durable-objects/coalescer.ts) builds on, and nothing it should reach around.
 */
export { withBytes } from '../cache/entry'
export type { CacheTier } from '../cache/tier'
export { createTierStack, type TierStack } from '../cache/tier-stack'
export { lookupVariant } from '../cache/variant-store'
export { parseConfig, type Config } from '../config/load-config'
export { compileRoutes, type CompiledRoute } from '../config/route-matcher'
export type { FillResult } from '../fill/fill-result'
export { DeadlineExceeded } from '../lib/errors'
export { log } from '../lib/log'
export { withDeadline } from '../lib/with-deadline'
export { fetchForCache, storeFilled } from '../origin/origin-fill'
export { variantSelectors } from '../http/authorization'
export { createIsolate, type Isolate } from '../runtime/isolate'
export type { FillAnswer, FillPolicy, FillRequest } from './protocol'
export { PopularityBook } from '../popularity/estimator'
export { keyHash } from '../popularity/pending-hits'
