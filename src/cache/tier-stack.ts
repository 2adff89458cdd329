import type { StoredRecord } from './entry'
import type { CacheTier } from './tier'

export interface TierHit {
  readonly record: StoredRecord
  /** The name of the tier that had it (`memory`, `L1`, ...). */
  readonly tier: string
}

export interface TierHealth {
  readonly tier: string
  readonly ok: boolean
  readonly latencyMs: number
  readonly error?: string
}

/**
 * Tiers read nearest first, written and deleted everywhere. A record found in a farther tier is copied
 * into the nearer ones; a nearer tier caps how long it keeps it (the memory tier: its max age).
 * A tier that fails degrades to a miss on reads and to a skipped copy on writes: a broken cache
 * must never fail the request it could not speed up. Deletes report failure (a purge must know).
 */
export interface TierStack extends CacheTier {
  read(key: string): Promise<TierHit | undefined>
  /** Reads `key` from every tier directly (failures included), for health checks. */
  probe(key: string): Promise<TierHealth[]>
}

export function createTierStack(tiers: readonly CacheTier[]): TierStack {
  const name = tiers.map((tier) => tier.name).join('+')
  return {
    name,
    async read(key) {
      for (let i = 0; i < tiers.length; i++) {
        const tier = tiers[i]!
        let record: StoredRecord | undefined
        try {
          record = await tier.get(key)
        } catch (error) {
          logTierFailure(tier, 'get', error)
          continue
        }
        if (record === undefined) continue
        for (let j = 0; j < i; j++)
          await setQuietly(tiers[j]!, key, record, Number.POSITIVE_INFINITY)
        return { record, tier: tier.name }
      }
      return undefined
    },
    async get(key) {
      return (await this.read(key))?.record
    },
    async probe(key) {
      return Promise.all(
        tiers.map(async (tier): Promise<TierHealth> => {
          const started = Date.now()
          try {
            await tier.get(key)
            return { tier: tier.name, ok: true, latencyMs: Date.now() - started }
          } catch (error) {
            return {
              tier: tier.name,
              ok: false,
              latencyMs: Date.now() - started,
              error: String(error),
            }
          }
        })
      )
    },
    async set(key, record, expiresAt) {
      await Promise.all(tiers.map((tier) => setQuietly(tier, key, record, expiresAt)))
    },
    async delete(key) {
      const deleted = await Promise.all(tiers.map((tier) => tier.delete(key)))
      return deleted.some(Boolean)
    },
  }
}

async function setQuietly(
  tier: CacheTier,
  key: string,
  record: StoredRecord,
  expiresAt: number
): Promise<void> {
  try {
    await tier.set(key, record, expiresAt)
  } catch (error) {
    logTierFailure(tier, 'set', error)
  }
}

function logTierFailure(tier: CacheTier, operation: string, error: unknown): void {
  console.error(
    JSON.stringify({
      level: 'warn',
      event: 'tier_failure',
      tier: tier.name,
      operation,
      error: String(error),
    })
  )
}
