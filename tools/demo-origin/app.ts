/**
 * The demo origin: a deliberately slow product-catalogue API that counts its fetches and can be
 * told to fail. Web APIs and Hono only: it is served by Node (server.ts, tools/lib/stack.ts) and
 * called directly as `app.fetch(request)` from Miniflare's outbound service in Worker tests.
 */
import { Hono } from 'hono'
import { z } from 'zod'
import { CATEGORIES, type Product } from './catalogue'
import { echo } from './echo'
import { httpDate, isNotModified, negotiateLanguage, strongETag } from './http'
import { badRequest, json, JSON_TYPE, readJson } from './responses'
import { DemoOriginState, HANG_RELEASE_STATUS, type FailMode } from './state'

export { DemoOriginState, type FailMode, type OriginStats } from './state'
export type { Product } from './catalogue'

export interface DemoOriginOptions {
  /** Delay before every non-admin answer; default 200 ms; changeable via `POST /__origin/latency`. */
  latencyMs?: number
}

export interface DemoOrigin {
  app: Hono
  state: DemoOriginState
}

const PRODUCT_CACHE_CONTROL = 'public, max-age=10, s-maxage=60, stale-while-revalidate=30'
// Short negative caching; tagged like the product so a purge of product:<id> also drops it.
const NOT_FOUND_CACHE_CONTROL = 'public, max-age=0, s-maxage=5'
const SEARCH_CACHE_CONTROL = 'public, max-age=30'
const SEARCH_PAGE_SIZE = 5

const failSchema = z.strictObject({
  mode: z.enum(['error', 'hang', 'off']),
  status: z.number().int().min(400).max(599).optional(),
})
const latencySchema = z.strictObject({ ms: z.number().int().min(0).max(120_000) })
const productFieldsSchema = z.looseObject({
  name: z.string().min(1).max(200).optional(),
  category: z.string().min(1).max(64).optional(),
  price: z.number().nonnegative().optional(),
  currency: z.string().length(3).optional(),
  stock: z.number().int().nonnegative().optional(),
})

const SEARCH_MESSAGES = {
  en: (n: number, q: string) => `${n} results for "${q}"`,
  de: (n: number, q: string) => `${n} Ergebnisse für „${q}“`,
  fr: (n: number, q: string) => `${n} résultats pour « ${q} »`,
} as const

function parseId(raw: string): number | undefined {
  return /^[1-9]\d{0,8}$/.test(raw) ? Number(raw) : undefined
}

function delay(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve()
}

export function createDemoOrigin(options: DemoOriginOptions = {}): DemoOrigin {
  const state = new DemoOriginState(options.latencyMs ?? 200)
  const { catalogue } = state
  const app = new Hono()
  // Which fetch (1, 2, ...) a request was, for the echo route's `n`.
  const fetchNumbers = new WeakMap<Request, number>()

  /** A cacheable representation, or a 304 with the same validators and cache headers. */
  function representation(
    request: Request,
    body: string,
    lastModifiedMs: number,
    headers: Record<string, string>
  ): Response {
    const validators = { etag: strongETag(body), 'last-modified': httpDate(lastModifiedMs) }
    const all = { ...headers, ...validators }
    if (
      isNotModified(request.headers, {
        etag: validators.etag,
        lastModified: validators['last-modified'],
      })
    ) {
      state.notModified++
      return new Response(null, { status: 304, headers: all })
    }
    return new Response(body, { status: 200, headers: { 'content-type': JSON_TYPE, ...all } })
  }

  function productResponse(request: Request, product: Product): Response {
    return representation(request, JSON.stringify(product), catalogue.modifiedAt(product), {
      'cache-control': PRODUCT_CACHE_CONTROL,
      'surrogate-key': `product:${product.id} products`,
      'cache-tag': `product:${product.id}`,
    })
  }

  // Real origins always send Date (RFC 9110 §6.6.1); Node adds it, app.fetch would not.
  app.use('*', async (c, next) => {
    await next()
    if (!c.res.headers.has('date')) c.res.headers.set('date', httpDate(Date.now()))
  })

  // Counting, latency and fault injection for everything but the admin routes.
  app.use('*', async (c, next) => {
    const path = new URL(c.req.url).pathname
    if (path === '/__origin' || path.startsWith('/__origin/')) return next()
    fetchNumbers.set(c.req.raw, state.count(c.req.raw.method, path))
    await delay(state.latencyMs)
    if (state.fail.mode === 'hang') {
      await state.hang()
      return c.json({ error: 'origin hung (injected), released' }, HANG_RELEASE_STATUS)
    }
    if (state.fail.mode === 'error') {
      return json({ error: 'origin failing (injected)' }, state.fail.status, {
        'x-origin-fail': 'error',
      })
    }
    return next()
  })

  app.get('/__origin/stats', (c) => c.json(state.stats()))
  app.post('/__origin/reset', (c) => {
    state.reset()
    return c.json(state.stats())
  })
  app.post('/__origin/fail', async (c) => {
    const parsed = failSchema.safeParse(await readJson(c))
    if (!parsed.success) return badRequest(parsed.error)
    const { mode, status } = parsed.data
    const fail: FailMode = mode === 'error' ? { mode, status: status ?? 503 } : { mode }
    state.setFail(fail)
    return c.json(state.stats())
  })
  app.post('/__origin/latency', async (c) => {
    const parsed = latencySchema.safeParse(await readJson(c))
    if (!parsed.success) return badRequest(parsed.error)
    state.setLatency(parsed.data.ms)
    return c.json(state.stats())
  })

  // The product ids, for the cache's membership guard (routes[].membership.source).
  app.get('/__ids/products', (c) => c.json({ ids: catalogue.list().map((product) => product.id) }))

  app.get('/products', (c) => {
    const products = catalogue.list()
    const body = JSON.stringify({ count: products.length, products })
    return representation(c.req.raw, body, catalogue.lastModified, {
      'cache-control': PRODUCT_CACHE_CONTROL,
      'surrogate-key': 'products',
      'cache-tag': 'products',
    })
  })

  app.post('/products', async (c) => {
    const parsed = productFieldsSchema.safeParse(await readJson(c))
    if (!parsed.success) return badRequest(parsed.error)
    const product = catalogue.create(parsed.data)
    return json(product, 201, { location: `/products/${product.id}`, 'cache-control': 'no-store' })
  })

  app.get('/products/:id', (c) => {
    const raw = c.req.param('id')
    const id = parseId(raw)
    const product = id === undefined ? undefined : catalogue.get(id)
    if (!product) {
      return json({ error: 'product not found', id: raw }, 404, {
        'cache-control': NOT_FOUND_CACHE_CONTROL,
        'surrogate-key': `product:${raw} products`,
        'cache-tag': `product:${raw}`,
      })
    }
    return productResponse(c.req.raw, product)
  })

  app.put('/products/:id', async (c) => {
    const id = parseId(c.req.param('id'))
    const parsed = productFieldsSchema.safeParse(await readJson(c))
    if (!parsed.success) return badRequest(parsed.error)
    const product = id === undefined ? undefined : catalogue.update(id, parsed.data)
    if (!product) return json({ error: 'product not found' }, 404, { 'cache-control': 'no-store' })
    return json(product, 200, {
      'cache-control': 'no-store',
      etag: strongETag(JSON.stringify(product)),
    })
  })

  app.delete('/products/:id', (c) => {
    const id = parseId(c.req.param('id'))
    if (id === undefined || !catalogue.remove(id)) {
      return json({ error: 'product not found' }, 404, { 'cache-control': 'no-store' })
    }
    return new Response(null, { status: 204, headers: { 'cache-control': 'no-store' } })
  })

  // Like many APIs: no cache headers at all (the route config has to supply a TTL).
  app.get('/categories', () => {
    const products = catalogue.list()
    return json({
      categories: CATEGORIES.map((category) => ({
        ...category,
        productCount: products.filter((p) => p.category === category.slug).length,
      })),
    })
  })

  app.get('/categories/:slug', (c) => {
    const category = CATEGORIES.find((x) => x.slug === c.req.param('slug'))
    if (!category) return json({ error: 'category not found' }, 404)
    const products = catalogue.list().filter((p) => p.category === category.slug)
    return json({ ...category, products })
  })

  app.get('/search', (c) => {
    const q = c.req.query('q') ?? ''
    const pageRaw = c.req.query('page') ?? '1'
    if (!/^[1-9]\d{0,5}$/.test(pageRaw)) return badRequest('page must be a positive integer')
    const page = Number(pageRaw)
    const language = negotiateLanguage(c.req.header('accept-language') ?? null)
    const needle = q.toLowerCase()
    const matches = catalogue
      .list()
      .filter((p) => p.name.toLowerCase().includes(needle) || p.category.includes(needle))
    const results = matches
      .slice((page - 1) * SEARCH_PAGE_SIZE, page * SEARCH_PAGE_SIZE)
      .map(({ id, name, price, currency }) => ({ id, name, price, currency }))
    const message = SEARCH_MESSAGES[language](matches.length, q)
    return json(
      {
        query: q,
        page,
        pageSize: SEARCH_PAGE_SIZE,
        total: matches.length,
        language,
        message,
        results,
      },
      200,
      {
        'cache-control': SEARCH_CACHE_CONTROL,
        vary: 'Accept-Language',
        'content-language': language,
      }
    )
  })

  app.get('/account', (c) => {
    const session = crypto.randomUUID()
    return json(
      {
        user: { id: 'u_demo', name: 'Demo User' },
        requestId: crypto.randomUUID(),
        hadCookie: c.req.header('cookie')?.includes('session=') ?? false,
      },
      200,
      {
        'cache-control': 'private, no-store',
        'set-cookie': `session=${session}; Path=/; HttpOnly; SameSite=Lax`,
      }
    )
  })

  app.all('/echo/*', (c) => echo(c.req.raw, fetchNumbers.get(c.req.raw) ?? state.fetches, state))

  app.notFound(() => json({ error: 'not found' }, 404))
  app.onError((error) => json({ error: 'demo origin error', message: error.message }, 500))

  return { app, state }
}
