import { matchRoute } from '../config/route-matcher'
import { requestPath } from '../http/request-path'
import { handleCacheable } from '../proxy/cache-handler'
import type { RequestContext } from '../runtime/request-context'
import { eachBounded } from './pool'

export interface WarmResult {
  readonly url: string
  /** Null when the URL is never cached (no route, a bypass route, an ambiguous path). */
  readonly status: number | null
  readonly cacheStatus: string | null
}

/** URLs filled at once: warming must not become a stampede of its own. */
const CONCURRENCY = 6

/**
 * Pre-fills `urls` (resolved against `base`) through the normal miss path, the Coalescer included,
 * a few at a time, as GETs a client could have sent.
 */
export async function warm(
  context: RequestContext,
  urls: readonly string[],
  base: string
): Promise<WarmResult[]> {
  const results = await eachBounded(urls, CONCURRENCY, (value) => warmUrl(context, value, base))
  return results as WarmResult[]
}

/** One URL as a header-less GET through `handleCacheable`: the same key, storability and tiers. */
export async function warmUrl(
  context: RequestContext,
  value: string,
  base: string
): Promise<WarmResult> {
  const url = new URL(value, base)
  const { path, ambiguous } = requestPath(url.pathname)
  const route = matchRoute(context.config.routes, path)
  if (route === undefined || route.bypass || ambiguous) {
    return { url: value, status: null, cacheStatus: null }
  }
  const response = await handleCacheable(new Request(url, { method: 'GET' }), url, route, context)
  await response.body?.cancel()
  return { url: value, status: response.status, cacheStatus: response.headers.get('cache-status') }
}
