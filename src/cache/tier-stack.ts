import type { StoredRecord } from './entry'
import type { CacheTier } from './tier'

export interface TierHit {
  readonly record: StoredRecord
  /** The name of the tier that had it (`memory`, `L1`, ...). */
  readonly tier: string
}

/**
 * Tiers read nearest first, written and deleted everywhere. A record found in a farther tier is copied
 * into the nearer ones; a nearer tier caps how long it keeps it (the memory tier: its max age).
 */
export interface TierStack extends CacheTier {
  read(key: string): Promise<TierHit | undefined>
}

export function createTierStack(tiers: readonly CacheTier[]): TierStack {
  const name = tiers.map((tier) => tier.name).join('+')
  return {
    name,
    async read(key) {
      for (let i = 0; i < tiers.length; i++) {
        const tier = tiers[i]!
        const record = await tier.get(key)
        if (record === undefined) continue
        for (let j = 0; j < i; j++) await tiers[j]!.set(key, record, Number.POSITIVE_INFINITY)
        return { record, tier: tier.name }
      }
      return undefined
    },
    async get(key) {
      return (await this.read(key))?.record
    },
    async set(key, record, expiresAt) {
      await Promise.all(tiers.map((tier) => tier.set(key, record, expiresAt)))
    },
    async delete(key) {
      const deleted = await Promise.all(tiers.map((tier) => tier.delete(key)))
      return deleted.some(Boolean)
    },
  }
}
