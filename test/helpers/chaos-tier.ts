import type { CacheTier } from '../../src/cache/tier'

/** A real tier whose every operation fails (bentocache-style chaos wrapper, not a mock). */
export function alwaysThrow(tier: CacheTier): CacheTier {
  const fail = async (): Promise<never> => {
    throw new Error(`${tier.name} is down`)
  }
  return { name: tier.name, get: fail, set: fail, delete: fail }
}

/** A real tier whose reads answer after `ms` (bentocache-style `alwaysDelay`), counting them. */
export function alwaysDelay(tier: CacheTier, ms: number): CacheTier & { reads: number } {
  const delayed = {
    name: tier.name,
    reads: 0,
    async get(key: string) {
      delayed.reads++
      await new Promise((resolve) => setTimeout(resolve, ms))
      return tier.get(key)
    },
    set: tier.set.bind(tier),
    delete: tier.delete.bind(tier),
  }
  return delayed
}

/** A tier whose reads never answer (a region that accepts the connection and stays silent). */
export function neverAnswers(name: string): CacheTier & { reads: number } {
  const silent = {
    name,
    reads: 0,
    get: () => {
      silent.reads++
      return new Promise<never>(() => {})
    },
    set: async () => {},
    delete: async () => false,
  }
  return silent
}
