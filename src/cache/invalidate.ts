import type { Config } from '../config/load-config'
import { matchRoute } from '../config/route-matcher'
import { requestPath } from '../http/request-path'
import { exceedsKeyLimit, primaryKey } from './cache-key'

/** The primary cache key of a URL under the config, or undefined when that URL is never cached. */
export function primaryKeyForUrl(url: URL, config: Config): string | undefined {
  const { path, ambiguous } = requestPath(url.pathname)
  if (ambiguous) return undefined
  const route = matchRoute(config.routes, path)
  if (route === undefined || route.bypass) return undefined
  const key = primaryKey(url, route.key)
  return exceedsKeyLimit(key, config.limits.maxKeyLength) ? undefined : key
}
