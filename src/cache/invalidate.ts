import type { Config } from '../config/load-config'
import { matchRoute } from '../config/route-matcher'
import { exceedsKeyLimit, primaryKey } from './cache-key'
import type { CacheTier } from './tier'

/** The primary cache key of a URL under the config, or undefined when that URL is never cached. */
export function primaryKeyForUrl(url: URL, config: Config): string | undefined {
  const route = matchRoute(config.routes, url.pathname)
  if (route === undefined || route.bypass) return undefined
  const key = primaryKey(url, route.key)
  return exceedsKeyLimit(key, config.limits.maxKeyLength) ? undefined : key
}

/**
 * Forgets a URL in a tier: deleting the primary record removes a plain entry, or the vary index, which
 * retires every variant (variants older than the next index are refused).
 */
export async function invalidateUrl(url: URL, config: Config, tier: CacheTier): Promise<boolean> {
  const key = primaryKeyForUrl(url, config)
  return key === undefined ? false : tier.delete(key)
}
