/**
 * Baseline for the L1-hit figure: the least a Worker can do with the Cache API. A hit is returned
 * as is; a miss goes to the origin and is stored in the background.
 */
interface Env {
  ORIGIN_URL: string
}

export default {
  async fetch(request, env, ctx): Promise<Response> {
    const cache = caches.default
    const hit = await cache.match(request)
    if (hit) return hit
    const url = new URL(request.url)
    const response = await fetch(env.ORIGIN_URL + url.pathname + url.search)
    ctx.waitUntil(cache.put(request, response.clone()))
    return response
  },
} satisfies ExportedHandler<Env>
