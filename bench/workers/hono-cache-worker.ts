/**
 * Baseline for the L1-hit figure: Hono's own `hono/cache` middleware in front of a proxy handler.
 */
import { Hono } from 'hono'
import { cache } from 'hono/cache'

const app = new Hono<{ Bindings: { ORIGIN_URL: string } }>()

app.use('*', cache({ cacheName: 'bench', cacheControl: 'max-age=3600', wait: false }))

app.all('*', async (c) => {
  const url = new URL(c.req.url)
  const response = await fetch(c.env.ORIGIN_URL + url.pathname + url.search)
  // fetch() responses have immutable headers; the middleware appends Cache-Control to them.
  return new Response(response.body, response)
})

export default app
