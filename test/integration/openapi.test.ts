import { env } from 'cloudflare:workers'
import type { RouteConfig } from '@hono/zod-openapi'
import { describe, expect, it } from 'vitest'
import type { z } from 'zod'
import { adminApi } from '../../src/admin/api-description'
import { errorBodySchema, openApiDocumentSchema } from '../../src/admin/response-schemas'
import worker from '../../src/index'
import { ADMIN_TOKEN, admin, envWithConfig, json, send } from '../helpers/worker'

const MOUNT = '/_cache'
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const

interface MediaType {
  schema?: unknown
  example?: unknown
  examples?: Record<string, { value?: unknown }>
}
interface Operation {
  security?: Array<Record<string, string[]>>
  requestBody?: { content?: Record<string, MediaType> }
  responses?: Record<string, { description?: unknown; content?: Record<string, MediaType> }>
}
interface Document {
  openapi: string
  info: { title: string; version: string }
  paths: Record<string, Partial<Record<(typeof METHODS)[number], Operation>>>
  components?: { securitySchemes?: Record<string, { type: string; scheme?: string }> }
}

async function fetchDocument(): Promise<Document> {
  const response = await admin('/openapi.json')
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toMatch(/^application\/json/)
  expect(response.headers.get('cache-control')).toBe('no-store')
  return json<Document>(response)
}

/** `/purge/:id` (Hono) → `/purge/{id}` (OpenAPI). */
const openApiPath = (honoPath: string) => honoPath.replace(/:([^/{}]+)/g, '{$1}')

/** The zod source of each documented operation: `get /_cache/purge/{id}` → its route config. */
const configs = new Map<string, RouteConfig>(
  Object.values(adminApi).map((route) => [`${route.method} ${MOUNT}${route.path}`, route])
)

type Content = Record<string, { schema?: z.ZodType } | undefined> | undefined

/** The zod schema behind a media type of an operation's request body (`status` undefined) or response. */
function zodSchema(
  path: string,
  method: string,
  status: string | undefined,
  mediaType: string
): z.ZodType {
  const route = configs.get(`${method} ${path}`)
  expect(route, `${method} ${path} has a route config`).toBeDefined()
  const content: Content =
    status === undefined
      ? (route!.request?.body?.content as Content)
      : ((route!.responses as Record<string, { content?: Content }>)[status]?.content as Content)
  const schema = content?.[mediaType]?.schema
  expect(schema, `${method} ${path} ${status ?? 'body'} ${mediaType}`).toBeDefined()
  return schema!
}

/** Every operation's media types: [where, path, method, status (undefined: request body), type, object]. */
function* mediaTypes(document: Document) {
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method]
      if (!operation) continue
      for (const [type, media] of Object.entries(operation.requestBody?.content ?? {}))
        yield { path, method, status: undefined, type, media }
      for (const [status, response] of Object.entries(operation.responses ?? {}))
        for (const [type, media] of Object.entries(response.content ?? {}))
          yield { path, method, status, type, media }
    }
  }
}

/** JSON-pointer-ish locations of every `example`/`examples` key anywhere in `value`. */
function exampleLocations(value: unknown, at: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null) return []
  return Object.entries(value).flatMap(([key, child]) => [
    ...(key === 'example' || key === 'examples' ? [[...at, key]] : []),
    ...(key === 'example' || key === 'examples' ? [] : exampleLocations(child, [...at, key])),
  ])
}

describe('GET /_cache/openapi.json', () => {
  it('is an OpenAPI 3.1 document with the required fields', async () => {
    const document = await fetchDocument()
    expect(openApiDocumentSchema.safeParse(document).success).toBe(true)
    expect(document.openapi).toMatch(/^3\.1\.\d+$/)
    expect(document.info.title).toEqual(expect.any(String))
    expect(document.info.version).toEqual(expect.any(String))
    const schemes = document.components?.securitySchemes ?? {}
    expect(schemes.adminToken).toMatchObject({ type: 'http', scheme: 'bearer' })
    for (const [path, item] of Object.entries(document.paths)) {
      expect(path).toMatch(/^\/_cache\//)
      for (const [method, operation] of Object.entries(item)) {
        expect(METHODS as readonly string[]).toContain(method)
        const responses = Object.entries(operation.responses ?? {})
        expect(responses.length, `${method} ${path} has responses`).toBeGreaterThan(0)
        for (const [status, response] of responses) {
          expect(status).toMatch(/^[1-5]\d\d$/)
          expect(response.description, `${method} ${path} ${status}`).toEqual(expect.any(String))
        }
        // Every security requirement names a declared scheme.
        for (const requirement of operation.security ?? [])
          for (const name of Object.keys(requirement)) expect(schemes).toHaveProperty(name)
        // Path templates and their path parameters agree.
        const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1])
        const params = (
          (operation as { parameters?: Array<{ in: string; name: string }> }).parameters ?? []
        )
          .filter((p) => p.in === 'path')
          .map((p) => p.name)
        expect(params.sort()).toEqual(templated.sort())
      }
    }
  })

  it('describes every admin route the app registers, and no other', async () => {
    const document = await fetchDocument()
    const registered = new Set<string>()
    for (const route of worker.routes) {
      if (!route.path.startsWith(`${MOUNT}/`) && route.path !== MOUNT) continue
      // `use()` middleware and the catch-all 404 are ALL on a wildcard; a real route has a method.
      if (route.method === 'ALL') {
        expect(route.path, 'an ALL route under /_cache must be a wildcard').toMatch(/\*$/)
        continue
      }
      registered.add(`${route.method.toLowerCase()} ${openApiPath(route.path)}`)
    }
    const documented = new Set<string>()
    for (const [path, item] of Object.entries(document.paths))
      for (const method of Object.keys(item)) documented.add(`${method} ${path}`)
    // Known routes, so the enumeration itself is checked.
    expect([...registered]).toEqual(
      expect.arrayContaining([
        'get /_cache/health',
        'post /_cache/purge',
        'get /_cache/purge/{id}',
        'post /_cache/warm',
        'get /_cache/metrics',
        'get /_cache/openapi.json',
      ])
    )
    expect([...documented].sort()).toEqual([...registered].sort())
  })

  it('gives every request body and response a schema', async () => {
    const document = await fetchDocument()
    let bodies = 0
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        const request = operation.requestBody
        if (request) expect(Object.keys(request.content ?? {}).length).toBeGreaterThan(0)
        for (const [status, response] of Object.entries(operation.responses ?? {})) {
          const content = Object.entries(response.content ?? {})
          expect(content.length, `${method} ${path} ${status} has content`).toBeGreaterThan(0)
        }
      }
    }
    for (const { path, method, status, type, media } of mediaTypes(document)) {
      expect(media.schema, `${method} ${path} ${status ?? 'body'} ${type}`).toBeDefined()
      bodies++
    }
    expect(bodies).toBeGreaterThan(20)
    // The POST routes take JSON bodies.
    expect(document.paths['/_cache/purge']?.post?.requestBody?.content).toHaveProperty(
      'application/json'
    )
    expect(document.paths['/_cache/warm']?.post?.requestBody?.content).toHaveProperty(
      'application/json'
    )
  })

  it('has only examples the zod schemas accept', async () => {
    const document = await fetchDocument()
    // Examples live on media types only, where the zod schema behind them is known.
    for (const location of exampleLocations(document.paths)) {
      expect(location.at(-3), location.join('/')).toBe('content')
    }
    expect(exampleLocations(document.components)).toEqual([])
    let checked = 0
    for (const { path, method, status, type, media } of mediaTypes(document)) {
      const values = [
        ...(media.example === undefined ? [] : [media.example]),
        ...Object.values(media.examples ?? {}).map((example) => example.value),
      ]
      if (values.length === 0) continue
      const schema = zodSchema(path, method, status, type)
      for (const value of values) {
        const parsed = schema.safeParse(value)
        expect(
          parsed.success,
          `${method} ${path} ${status ?? 'body'} ${type}: ${parsed.error?.message ?? ''}`
        ).toBe(true)
        checked++
      }
    }
    expect(checked).toBeGreaterThan(20)
  })

  it('documents the status and the schema of real answers', async () => {
    const document = await fetchDocument()
    const check = async (method: string, template: string, response: Response) => {
      const operation = document.paths[`${MOUNT}${template}`]?.[method as 'get']
      expect(operation, `${method} ${template} is documented`).toBeDefined()
      const status = String(response.status)
      const documented = operation!.responses?.[status]
      expect(documented, `${method} ${template} documents ${status}`).toBeDefined()
      const type = (response.headers.get('content-type') ?? '').split(';')[0]!.trim()
      expect(Object.keys(documented!.content ?? {}), `${method} ${template} ${status}`).toContain(
        type
      )
      const body = await response.text()
      const value = type === 'application/json' ? JSON.parse(body) : body
      const parsed = zodSchema(`${MOUNT}${template}`, method, status, type).safeParse(value)
      expect(parsed.success, `${method} ${template} ${status}: ${parsed.error?.message}`).toBe(true)
      return value as Record<string, unknown>
    }
    const post = (path: string, body: unknown, type = 'application/json', token?: string | null) =>
      admin(path, { method: 'POST', headers: { 'content-type': type }, body: String(body) }, token)

    await send('/products/1')
    await check('get', '/health', await admin('/health'))
    const report = await check(
      'post',
      '/purge',
      await post('/purge', JSON.stringify({ urls: ['/products/1', '/account'], tags: ['t'] }))
    )
    await check('get', '/purge/{id}', await admin(`/purge/${String(report.id)}`))
    await check('get', '/purge/{id}', await admin('/purge/no-such-purge'))
    await check('post', '/warm', await post('/warm', JSON.stringify({ urls: ['/products/2'] })))
    await check('get', '/stats', await admin('/stats'))
    await check('get', '/metrics', await admin('/metrics'))
    await check('get', '/dashboard', await admin('/dashboard', {}, null))
    await check('get', '/dashboard/{asset}', await admin('/dashboard/nope.js', {}, null))
    await check('get', '/openapi.json', await admin('/openapi.json'))
    // Hostile and failing requests get a documented status and the one error shape.
    await check('post', '/purge', await post('/purge', '{"urls": ['))
    await check('post', '/purge', await post('/purge', JSON.stringify({ everything: true })))
    await check('post', '/warm', await post('/warm', JSON.stringify({ urls: [] })))
    await check('post', '/warm', await post('/warm', '{"urls":["/x"]}', 'text/plain'))
    await check(
      'post',
      '/purge',
      await post('/purge', JSON.stringify({ keys: ['x'.repeat(70_000)] }))
    )
    await check('post', '/purge', await post('/purge', '{}', 'application/json', 'wrong-token'))
    await check('get', '/openapi.json', await admin('/openapi.json', {}, null))
  })

  it('needs the admin token: 401 without it, 503 while the admin API is disabled', async () => {
    for (const token of [null, '', 'wrong', `${ADMIN_TOKEN}x`]) {
      const response = await admin('/openapi.json', {}, token)
      expect(response.status).toBe(401)
      expect(response.headers.get('www-authenticate')).toContain('Bearer')
      expect(errorBodySchema.parse(await json(response)).error.code).toBe('unauthorized')
    }
    // The metrics token reads metrics, not the admin API's map.
    const withMetrics = { ...env, METRICS_TOKEN: 'metrics-only' }
    const metricsOnly = await send(
      '/_cache/openapi.json',
      { headers: { authorization: 'Bearer metrics-only' } },
      undefined,
      withMetrics
    )
    expect(metricsOnly.status).toBe(401)
    const disabled = await send(
      '/_cache/openapi.json',
      { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } },
      undefined,
      { ...env, ADMIN_TOKEN: '' }
    )
    expect(disabled.status).toBe(503)
    expect(await json(disabled)).toMatchObject({ error: { code: 'admin_disabled' } })
  })

  it('is not served on another hostname when admin.hostname is set, nor to other methods', async () => {
    const bindings = envWithConfig((config) => {
      config.admin = { hostname: 'admin.example.com' }
    })
    const init = { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }
    const elsewhere = await send('/_cache/openapi.json', init, 'https://cache.test', bindings)
    expect(elsewhere.status).toBe(404)
    expect(await json(elsewhere)).toMatchObject({ error: { code: 'not_found' } })
    const there = await send('/_cache/openapi.json', init, 'https://admin.example.com', bindings)
    expect(there.status).toBe(200)
    expect(openApiDocumentSchema.safeParse(await json(there)).success).toBe(true)
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const response = await admin('/openapi.json', { method })
      expect(response.status).toBe(404)
      expect(await json(response)).toMatchObject({ error: { code: 'not_found' } })
    }
  })
})
