import { z } from 'zod'

const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be an HTTP header name (RFC 9110 §5.1)')
  .transform((name) => name.toLowerCase())

const seconds = z.number().int().nonnegative()

/** What makes up the cache key of a route, beyond the path. */
export const keyRulesSchema = z
  .strictObject({
    /** Query parameters dropped from the key and from the origin request (globs: `utm_*`). */
    ignoreQuery: z.array(z.string().min(1)).default([]),
    /** If set, only these query parameters are kept (in the key and towards the origin). */
    allowQuery: z.array(z.string().min(1)).optional(),
    /** Request headers whose values select a variant (and are forwarded to the origin). */
    headers: z.array(headerName).default([]),
  })
  .prefault({})

export const routeSchema = z.strictObject({
  /** Path glob: `*` matches within one segment, `**` across segments; `/a/**` also matches `/a`. */
  pattern: z
    .string()
    .startsWith('/', 'must start with "/"')
    .regex(/^[^?#]*$/, 'must be a path, without query or fragment'),
  /** Pass straight through to the origin, never cached. */
  bypass: z.boolean().default(false),
  /** Freshness lifetime that replaces the origin's (many APIs send no cache headers). Omit to honour the origin. */
  ttl: seconds.optional(),
  /** RFC 5861 defaults, used when the origin does not send its own directive (or always, with `ttl`). */
  staleWhileRevalidate: seconds.default(0),
  staleIfError: seconds.default(0),
  key: keyRulesSchema,
  /** Request headers forwarded to the origin on cacheable requests, besides the key headers. */
  forwardHeaders: z.array(headerName).optional(),
  /** Tags every entry of this route carries (for purge by tag). */
  tags: z.array(z.string().min(1).max(256)).default([]),
})

/** One rate-limit rule: which requests it counts, per which identity, how many per window. */
export const rateLimitRuleSchema = z.strictObject({
  /** Names the rule in RateLimit headers and in its Durable Object's name. */
  name: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'must be a short lower-case token'),
  /** Path glob, as for routes. */
  pattern: z.string().startsWith('/', 'must start with "/"').default('/**'),
  /** Methods counted (upper-case); all when omitted. */
  methods: z.array(z.string().regex(/^[A-Z]+$/, 'must be an upper-case method')).optional(),
  /** What identifies a client: its IP (CF-Connecting-IP), request headers (e.g. an API key), or both. */
  identity: z
    .strictObject({
      ip: z.boolean().default(false),
      headers: z.array(headerName).default([]),
    })
    .refine((identity) => identity.ip || identity.headers.length > 0, 'needs ip or headers'),
  limit: z.number().int().positive().max(10_000),
  windowSeconds: z.number().int().positive().max(86_400),
  /** When the limiter cannot answer within `timeoutMs`: admit (open) or refuse with 503 (closed). */
  failMode: z.enum(['open', 'closed']).default('open'),
  timeoutMs: z.number().int().positive().max(10_000).default(500),
})

export const cacheConfigSchema = z.strictObject({
  /** Name of the Cache API cache used as L1. */
  cacheName: z.string().min(1).default('edge-cache'),
  /** The cache's name in RFC 9211 `Cache-Status`. */
  statusName: z
    .string()
    .regex(/^[A-Za-z*][A-Za-z0-9_.:/*-]*$/, 'must be an RFC 8941 token')
    .default('edge-cache'),
  origin: z
    .strictObject({
      /** Deadline for one origin fetch, in milliseconds. */
      timeoutMs: z.number().int().positive().max(120_000).default(10_000),
      /** Default request headers forwarded on cacheable requests (routes may replace the list). */
      forwardHeaders: z.array(headerName).default(['accept', 'accept-language']),
    })
    .prefault({}),
  limits: z
    .strictObject({
      /** Responses larger than this are streamed through, never stored. */
      maxBodyBytes: z
        .number()
        .int()
        .positive()
        .max(100 * 1024 * 1024)
        .default(5 * 1024 * 1024),
      /** Keys longer than this are not cached (the request is still served). */
      maxKeyLength: z.number().int().min(64).max(16_384).default(2048),
      /** Largest admin request body accepted. */
      maxAdminBodyBytes: z
        .number()
        .int()
        .positive()
        .default(64 * 1024),
    })
    .prefault({}),
  /**
   * The in-isolate hot tier in front of L1. A copy lives there at most `maxAgeMs`, which bounds how
   * long a purge made in another isolate can go unnoticed; 0 entries turns it off.
   */
  memory: z
    .strictObject({
      maxEntries: z.number().int().min(0).max(100_000).default(1000),
      maxBytes: z
        .number()
        .int()
        .min(0)
        .max(256 * 1024 * 1024)
        .default(16 * 1024 * 1024),
      maxAgeMs: z.number().int().min(0).max(60_000).default(1000),
    })
    .prefault({}),
  /** Heuristic freshness (RFC 9111 §4.2.2) for responses with Last-Modified but no explicit lifetime. */
  heuristic: z
    .strictObject({
      fraction: z.number().min(0).max(1).default(0.1),
      maxSeconds: seconds.default(86_400),
    })
    .prefault({}),
  /** Stale copies with a validator are kept this long past their last usable instant, to revalidate with a 304. */
  retainStaleSeconds: seconds.max(7 * 86_400).default(3600),
  /** Rate limits, checked before the cache; every matching rule applies. */
  rateLimits: z.array(rateLimitRuleSchema).default([]),
  routes: z.array(routeSchema).min(1, 'at least one route is required'),
})

/** Bindings as they come from wrangler.toml vars and secrets. */
export const envSchema = z.object({
  ORIGIN_URL: z
    .url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' })
    .refine((url) => !/[?#]/.test(url), 'must not have a query or fragment'),
  CACHE_CONFIG: z.union([z.string(), z.record(z.string(), z.unknown())]),
  ADMIN_TOKEN: z.string().optional(),
})

export type CacheConfigInput = z.input<typeof cacheConfigSchema>
export type CacheConfigParsed = z.output<typeof cacheConfigSchema>
export type RouteConfig = z.output<typeof routeSchema>
export type KeyRules = z.output<typeof keyRulesSchema>
export type RateLimitRule = z.output<typeof rateLimitRuleSchema>
