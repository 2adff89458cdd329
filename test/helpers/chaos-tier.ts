import type { CacheTier } from '../../src/cache/tier'

/** A real tier whose every operation fails (bentocache-style chaos wrapper, not a mock). */
export function alwaysThrow(tier: CacheTier): CacheTier {
  const fail = async (): Promise<never> => {
    throw new Error(`${tier.name} is down`)
  }
  return { name: tier.name, get: fail, set: fail, delete: fail }
}
