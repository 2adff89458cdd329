/**
 * Reference for the L1-hit figure: no cache, no origin, a constant response of about the size of
 * the cached one. Its throughput is the ceiling `wrangler dev` allows on this machine, so the
 * other rows show how much of it a cache hit costs.
 */
const BODY = JSON.stringify({ id: 'static', padding: 'x'.repeat(640) })

export default {
  async fetch(): Promise<Response> {
    return new Response(BODY, {
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'cache-control': 'public, s-maxage=3600',
      },
    })
  },
} satisfies ExportedHandler
