import { exceedsKeyLimit, variantKey } from './cache-key'
import { retainUntil, type CacheEntry, type ReadEntry, type VaryIndex } from './entry'
import type { CacheTier } from './tier'
import type { TierStack } from './tier-stack'

/**
 * Variants on top of a tier. A response that does not vary is stored at its primary key (one read per
 * hit). One that varies (origin `Vary`, route key headers) gets a VaryIndex at the primary key naming the
 * selecting headers, and the entry at a variant key built from the request's values for them.
 */
export interface Found {
  /** Its body may still be in its tier (an L1 hit): withBytes reads it when bytes are needed. */
  readonly entry: ReadEntry | undefined
  /** The index at the primary key, if the resource varies. */
  readonly index: VaryIndex | undefined
  /** The tier the entry came from (`memory`, `L1`). */
  readonly tier: string | undefined
  /** The key the entry was read from: the primary key, or its variant key. */
  readonly key: string | undefined
}

const NOTHING: Found = { entry: undefined, index: undefined, tier: undefined, key: undefined }

export async function lookupVariant(
  tiers: TierStack,
  primary: string,
  request: Headers,
  maxKeyLength: number
): Promise<Found> {
  const hit = await tiers.read(primary)
  if (hit === undefined) return NOTHING
  const record = hit.record
  if (record.kind === 'response') {
    return { entry: record, index: undefined, tier: hit.tier, key: primary }
  }
  const miss: Found = { entry: undefined, index: record, tier: undefined, key: undefined }
  const key = variantKey(primary, record.headerNames, request)
  if (exceedsKeyLimit(key, maxKeyLength)) return miss
  const variant = await tiers.read(key)
  const entry = variant?.record
  // A variant older than its index predates a purge of the URL (the index was deleted and recreated).
  if (entry?.kind !== 'response' || entry.storedAt < record.createdAt) return miss
  return { entry, index: record, tier: variant!.tier, key }
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((name, i) => name === b[i])
}

export interface StoreInput {
  readonly primary: string
  readonly request: Headers
  readonly entry: CacheEntry
  /** Sorted, lower-case request header names that select this variant (empty: does not vary). */
  readonly varyNames: readonly string[]
  readonly existingIndex: VaryIndex | undefined
  /** When the request that produced the entry started: a new index must not retire its own variant. */
  readonly requestTime: number
  readonly retainStaleMs: number
  readonly maxKeyLength: number
  /** Most variants the index keeps (`limits.maxVariantsPerKey`): the least recently stored are deleted. */
  readonly maxVariants: number
}

/**
 * `variants` with `suffix` moved (or added) last, and the oldest dropped past `max`; the same array
 * when nothing changes.
 */
export function touchVariant(
  variants: readonly string[],
  suffix: string,
  max: number
): { readonly variants: readonly string[]; readonly evicted: readonly string[] } {
  if (variants.length <= max && variants[variants.length - 1] === suffix) {
    return { variants, evicted: [] }
  }
  const next = variants.filter((variant) => variant !== suffix)
  next.push(suffix)
  const evicted = next.length > max ? next.splice(0, next.length - max) : []
  return { variants: next, evicted }
}

/**
 * Stores an entry (and its index when it varies); returns false when the variant key is too long.
 * The index lists the variants stored under it; past `maxVariants`, the least recently stored are
 * deleted from `tier` (best effort: a failed delete leaves a copy to expire by its TTL). Two fills of
 * new variants racing on the same index may each drop the other's from the list: that variant is still
 * served, and bounded again once it is stored anew.
 */
export async function storeVariant(tier: CacheTier, input: StoreInput): Promise<boolean> {
  const { primary, entry, varyNames, existingIndex } = input
  const expiresAt = retainUntil(entry, input.retainStaleMs)
  if (varyNames.length === 0) {
    await tier.set(primary, entry, expiresAt)
    return true
  }
  const key = variantKey(primary, varyNames, input.request)
  if (exceedsKeyLimit(key, input.maxKeyLength)) return false
  const keep = existingIndex !== undefined && sameNames(existingIndex.headerNames, varyNames)
  const known = keep ? existingIndex.variants : []
  const { variants, evicted } = touchVariant(known, key.slice(primary.length), input.maxVariants)
  const writes: Promise<unknown>[] = [tier.set(key, entry, expiresAt)]
  for (const suffix of evicted) writes.push(tier.delete(primary + suffix).catch(() => false))
  if (!keep || existingIndex.expiresAt < expiresAt || variants !== known) {
    const index: VaryIndex = {
      kind: 'vary-index',
      headerNames: [...varyNames],
      createdAt: keep ? existingIndex.createdAt : input.requestTime,
      expiresAt: Math.max(expiresAt, keep ? existingIndex.expiresAt : 0),
      variants,
    }
    writes.push(tier.set(primary, index, index.expiresAt))
  }
  await Promise.all(writes)
  return true
}
