import { createRoute, type OpenAPIHono, type RouteConfig } from '@hono/zod-openapi'
import { z } from 'zod'
import type { AppEnv } from '../app-env'
import { dashboardView } from '../metrics/dashboard-view'
import { purgeRequestSchema, warmRequestSchema } from './request-schemas'
import {
  errorBodySchema,
  healthResponseSchema,
  openApiDocumentSchema,
  purgeResponseSchema,
  purgeStatusResponseSchema,
  statsResponseSchema,
  textBodySchema,
  warmResponseSchema,
} from './response-schemas'

/**
 * The OpenAPI description of every `/_cache/*` route, built from the zod schemas that validate the
 * requests (`request-schemas.ts`) and describe the answers (`response-schemas.ts`). Paths are relative
 * to the admin router; the routers register each one next to its handler and use `getRoutingPath()`
 * as the Hono path, so a route cannot be served under one path and documented under another.
 *
 * The routes are registered with plain `get`/`post`, not `openapi()`: its validators would read the
 * body without our size limit and answer with their own error bodies, not `{error:{code,message}}`.
 */

type ErrorBody = z.infer<typeof errorBodySchema>
const failure = (code: string, message: string): ErrorBody => ({ error: { code, message } })

const json = <S extends z.ZodType>(schema: S, example: z.input<S>) => ({
  'application/json': { schema, example },
})

const errorResponse = (description: string, example: ErrorBody) => ({
  description,
  content: json(errorBodySchema, example),
})

const HOSTNAME_404 = errorResponse(
  'Not found: `admin.hostname` is set and this request is for another host, or no such endpoint.',
  failure('not_found', 'No admin endpoint GET /_cache/health.')
)

/** What every token-guarded route may answer before its handler runs. */
const guarded = (disabled: ErrorBody) =>
  ({
    401: {
      description: 'Missing or wrong bearer token.',
      headers: z.object({
        'www-authenticate': z.string().meta({ description: 'A Bearer challenge.' }),
      }),
      content: json(errorBodySchema, failure('unauthorized', 'A valid bearer token is required.')),
    },
    404: HOSTNAME_404,
    429: {
      description: 'This address used up its `admin.authFailures` budget of failed token checks.',
      headers: z.object({ 'retry-after': z.string().meta({ description: 'Seconds.' }) }),
      content: json(
        errorBodySchema,
        failure(
          'too_many_auth_failures',
          'Too many failed token checks from this address (10 per 60 s). Retry in 42 s.'
        )
      ),
    },
    503: errorResponse('No token is configured: this part of the API is disabled.', disabled),
  }) as const

const ADMIN_DISABLED = failure(
  'admin_disabled',
  'The admin API is disabled: set the ADMIN_TOKEN secret.'
)
const METRICS_DISABLED = failure(
  'metrics_disabled',
  'Metrics are disabled: set the METRICS_TOKEN or ADMIN_TOKEN secret.'
)

/** A JSON body's failures: what `parseJsonBody` answers. */
const BODY_ERRORS = {
  400: errorResponse(
    'The body is not JSON or does not match the schema (the message names each problem).',
    failure('invalid_request', 'Invalid body: tags: Invalid input: expected array, received string')
  ),
  413: errorResponse(
    'The body exceeds `limits.maxAdminBodyBytes`.',
    failure('payload_too_large', 'Body exceeds 65536 bytes.')
  ),
  415: errorResponse(
    'Content-Type is not application/json.',
    failure('unsupported_media_type', 'Content-Type must be application/json.')
  ),
} as const

type Security = Array<Record<string, string[]>>
const ADMIN: Security = [{ adminToken: [] }]
const ADMIN_OR_METRICS: Security = [{ adminToken: [] }, { metricsToken: [] }]

const PURGE_ID = 'ff26c532-5d0e-4b8a-9a51-0c1f3e6b2a77'
const REGIONS = ['us-east', 'eu-west', 'ap-south']

const purgeReport: z.input<typeof purgeResponseSchema> = {
  id: PURGE_ID,
  at: 1795437834886,
  soft: false,
  boundMs: 1000,
  scope: 'every region (L2 and log) and every colo (memory and L1) within boundMs',
  regions: { recorded: REGIONS, missed: [] },
  purged: 0,
  results: [{ url: '/products/2', key: '/products/2', cacheable: true, deleted: false }],
  status: `/_cache/purge/${PURGE_ID}`,
}

const health: z.input<typeof healthResponseSchema> = {
  status: 'ok',
  tiers: [
    { tier: 'memory', ok: true, latencyMs: 0 },
    { tier: 'L1', ok: true, latencyMs: 1 },
    { tier: 'L2', ok: true, latencyMs: 12 },
  ],
  l2: {
    home: 'eu-west',
    regions: REGIONS.map((region, i) => ({
      region,
      ok: true,
      latencyMs: 10 + 40 * i,
      state: 'closed' as const,
      rttMs: { 'eu-west': 10 + 40 * i },
      minRttMs: { 'eu-west': 8 + 40 * i },
    })),
  },
  origin: 'https://api.example.com',
  routes: 4,
}

export const adminApi = {
  health: createRoute({
    method: 'get',
    path: '/health',
    summary: 'Health of every tier and L2 region',
    security: ADMIN,
    responses: {
      ...guarded(ADMIN_DISABLED),
      200: { description: 'Every tier answers.', content: json(healthResponseSchema, health) },
      503: {
        description: 'A tier (or every L2 region) fails, or the admin API is disabled.',
        content: {
          'application/json': {
            schema: z.union([healthResponseSchema, errorBodySchema]),
            examples: {
              degraded: {
                value: {
                  status: 'degraded',
                  tiers: [
                    { tier: 'memory', ok: true, latencyMs: 0 },
                    { tier: 'L1', ok: false, latencyMs: 5, error: 'Error: cache unavailable' },
                  ],
                  origin: health.origin,
                  routes: health.routes,
                },
              },
              disabled: { value: ADMIN_DISABLED },
            },
          },
        },
      },
    },
  }),
  purge: createRoute({
    method: 'post',
    path: '/purge',
    summary: 'Purge URLs, keys, tags or key prefixes everywhere',
    security: ADMIN,
    request: {
      body: {
        required: true,
        content: {
          'application/json': {
            schema: purgeRequestSchema,
            examples: {
              urlsAndTags: { value: { tags: ['product:1'], urls: ['/products/2'] } },
              softPrefix: { value: { prefixes: ['/products/'], soft: true } },
              keys: { value: { keys: ['/products/2'] } },
            },
          },
        },
      },
    },
    responses: {
      ...guarded(ADMIN_DISABLED),
      ...BODY_ERRORS,
      200: {
        description: 'Applied here and recorded in at least one region (the others catch up).',
        content: json(purgeResponseSchema, purgeReport),
      },
      503: {
        description:
          'Applied here but recorded in no region: not durable, retry. Or the admin API is disabled.',
        content: {
          'application/json': {
            schema: z.union([purgeResponseSchema, errorBodySchema]),
            examples: {
              notDurable: {
                value: {
                  ...purgeReport,
                  regions: {
                    recorded: [],
                    missed: REGIONS.map((region) => ({
                      region,
                      ok: false as const,
                      error: 'Error: region unavailable',
                    })),
                  },
                },
              },
              disabled: { value: ADMIN_DISABLED },
            },
          },
        },
      },
    },
  }),
  purgeStatus: createRoute({
    method: 'get',
    path: '/purge/{id}',
    summary: 'Where a purge stands, per region',
    security: ADMIN,
    request: {
      params: z.object({ id: z.string().meta({ description: 'The `id` a purge answered.' }) }),
    },
    responses: {
      ...guarded(ADMIN_DISABLED),
      200: {
        description: 'Known in at least one region.',
        content: json(purgeStatusResponseSchema, {
          id: PURGE_ID,
          applied: true,
          regions: Object.fromEntries(REGIONS.map((region) => [region, true])),
        }),
      },
      404: errorResponse(
        'No region knows this purge (or `admin.hostname` names another host).',
        failure('not_found', `No region knows purge ${PURGE_ID}.`)
      ),
    },
  }),
  warm: createRoute({
    method: 'post',
    path: '/warm',
    summary: 'Pre-fill URLs through the normal miss path',
    security: ADMIN,
    request: {
      body: {
        required: true,
        content: json(warmRequestSchema, { urls: ['/products/3', '/categories/audio'] }),
      },
    },
    responses: {
      ...guarded(ADMIN_DISABLED),
      ...BODY_ERRORS,
      200: {
        description: 'Each URL with the status and Cache-Status its fill got.',
        content: json(warmResponseSchema, {
          warmed: 1,
          results: [
            {
              url: '/products/3',
              status: 200,
              cacheStatus: 'edge-cache; fwd=miss; ttl=59; stored',
            },
            { url: '/account', status: null, cacheStatus: null },
          ],
        }),
      },
    },
  }),
  metrics: createRoute({
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus exposition of the deployment totals',
    security: ADMIN_OR_METRICS,
    responses: {
      ...guarded(METRICS_DISABLED),
      200: {
        description: 'Prometheus text format 0.0.4.',
        content: {
          'text/plain': {
            schema: textBodySchema,
            example:
              '# TYPE edge_cache_requests_total counter\nedge_cache_requests_total{outcome="hit",tier="L1"} 42\n',
          },
        },
      },
      503: errorResponse(
        'No token is configured, or the Stats Durable Object is missing or did not answer.',
        failure('stats_unavailable', 'The STATS Durable Object binding is missing.')
      ),
    },
  }),
  stats: createRoute({
    method: 'get',
    path: '/stats',
    summary: "The dashboard's JSON: deployment totals and a timeline",
    security: ADMIN_OR_METRICS,
    responses: {
      ...guarded(METRICS_DISABLED),
      200: {
        description: 'Totals, per-bucket series and L2 regions.',
        content: json(
          statsResponseSchema,
          dashboardView(
            {
              now: 1795437834886,
              bucketMs: 10_000,
              since: 0,
              batches: 0,
              totals: { counters: {}, histograms: {} },
              breakers: {},
              timeline: [],
            },
            REGIONS,
            { 'us-east': 0, 'eu-west': 12 }
          )
        ),
      },
      503: errorResponse(
        'No token is configured, or the Stats Durable Object is missing or did not answer.',
        failure('stats_unavailable', 'The STATS Durable Object binding is missing.')
      ),
    },
  }),
  dashboard: createRoute({
    method: 'get',
    path: '/dashboard',
    summary: 'The dashboard page (public: it carries no data and asks for a token)',
    security: [],
    responses: {
      200: { description: 'HTML.', content: { 'text/html': { schema: textBodySchema } } },
      404: HOSTNAME_404,
    },
  }),
  dashboardAsset: createRoute({
    method: 'get',
    path: '/dashboard/{asset}',
    summary: "The dashboard's scripts and styles (public)",
    security: [],
    request: {
      params: z.object({
        asset: z.string().meta({ description: 'A file name, such as `app.js`.' }),
      }),
    },
    responses: {
      200: {
        description: 'JavaScript or CSS.',
        content: {
          'text/javascript': { schema: textBodySchema },
          'text/css': { schema: textBodySchema },
        },
      },
      404: errorResponse(
        'No such asset (or `admin.hostname` names another host).',
        failure('not_found', 'No dashboard asset /_cache/dashboard/nope.js.')
      ),
    },
  }),
  openApi: createRoute({
    method: 'get',
    path: '/openapi.json',
    summary: 'This document',
    security: ADMIN,
    responses: {
      ...guarded(ADMIN_DISABLED),
      200: {
        description: 'OpenAPI 3.1.',
        content: { 'application/json': { schema: openApiDocumentSchema } },
      },
    },
  }),
} satisfies Record<string, RouteConfig>

/** Documents `route` on `router`; callers serve it at `route.getRoutingPath()`. */
export function documentRoute(router: OpenAPIHono<AppEnv>, route: RouteConfig): void {
  router.openAPIRegistry.registerPath(route)
}

/** The two bearer tokens the routes' `security` names; registered once, on the admin router. */
export function documentSecurity(router: OpenAPIHono<AppEnv>): void {
  const bearer = (description: string) => ({ type: 'http' as const, scheme: 'bearer', description })
  const { openAPIRegistry } = router
  openAPIRegistry.registerComponent('securitySchemes', 'adminToken', bearer('ADMIN_TOKEN.'))
  openAPIRegistry.registerComponent(
    'securitySchemes',
    'metricsToken',
    bearer('METRICS_TOKEN: read-only observability (the admin token works too).')
  )
}

/**
 * The OpenAPI 3.1 document of `router` (the admin router, observability routes merged in), its paths
 * prefixed with `mount`, where the app serves the router (`/_cache`). Generated per request: it is
 * small, rarely fetched, and this keeps no state.
 */
export function openApiDocument(router: OpenAPIHono<AppEnv>, mount: string) {
  const document = router.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'edge-api-cache admin API',
      version: '1',
      description:
        'Token-protected administration of the edge cache: health, purges, warming and metrics. ' +
        'Errors are always `{ "error": { "code", "message" } }`.',
    },
  })
  const paths = Object.fromEntries(
    Object.entries(document.paths ?? {}).map(([path, item]) => [`${mount}${path}`, item])
  )
  return { ...document, paths }
}
