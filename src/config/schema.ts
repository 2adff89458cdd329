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
      /**
       * IPv6 clients count per prefix of this many bits: one host usually holds a whole /64, so the
       * full address would give it 2^64 identities. IPv4 (and IPv4-mapped IPv6) stays exact.
       */
      ipv6Prefix: z.number().int().min(1).max(128).default(64),
      headers: z.array(headerName).default([]),
      /**
       * With headers, whose values the client chooses, the identity is hashed into this many buckets
       * per rule (one Durable Object each), so no client can create objects without bound. The
       * trade-off: identities that collide share one limit, which is more restrictive, never less.
       * More buckets, fewer collisions. Rules on `ip` alone keep one object per (masked) address.
       */
      buckets: z
        .number()
        .int()
        .min(1)
        .max(2 ** 20)
        .default(65_536),
    })
    .refine((identity) => identity.ip || identity.headers.length > 0, 'needs ip or headers'),
  limit: z.number().int().positive().max(10_000),
  windowSeconds: z.number().int().positive().max(86_400),
  /** When the limiter cannot answer within `timeoutMs`: admit (open) or refuse with 503 (closed). */
  failMode: z.enum(['open', 'closed']).default('open'),
  timeoutMs: z.number().int().positive().max(10_000).default(500),
})

const regionName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'must be a region name like "eu-west"')

/** L2: the regional Upstash Redis tier. Connections come from the L2_REGIONS secret; this is policy. */
export const l2Schema = z
  .strictObject({
    /** Deadline for one call to one region; a slower region counts as failed and the read moves on. */
    timeoutMs: z.number().int().positive().max(10_000).default(150),
    /** Deadline for a whole read, failovers included. */
    readDeadlineMs: z.number().int().positive().max(10_000).default(400),
    /** Deadline for a fill or a delete in one region. */
    writeTimeoutMs: z.number().int().positive().max(30_000).default(1000),
    /** Hard TTLs get up to this share added at random, so keys filled together do not expire together. */
    ttlJitter: z.number().min(0).max(1).default(0.1),
    /** Prefix of every key this cache writes (entries and tag sets). */
    keyPrefix: z.string().max(64).default('ec:'),
    breaker: z
      .strictObject({
        /** Consecutive failures (errors or timeouts) that open a region's breaker. */
        failureThreshold: z.number().int().positive().max(1000).default(3),
        /** How long an open breaker skips its region before one probe may try it again. */
        cooldownMs: z.number().int().positive().max(600_000).default(5000),
      })
      .prefault({}),
    /** Weight of the newest sample in a region's round-trip estimate (EWMA). */
    rttAlpha: z.number().gt(0).max(1).default(0.2),
    /** The home region keeps first place unless another is faster by more than this. */
    homeBiasMs: z.number().min(0).max(1000).default(5),
    /** How often an isolate pings every region to keep the estimates current (off the request path). */
    probeIntervalMs: z.number().int().min(100).max(3_600_000).default(10_000),
    /** Where a client is: Cloudflare colo (IATA code) or continent → home region. */
    locations: z
      .strictObject({
        colos: z
          .record(z.string().regex(/^[A-Z]{3}$/, 'must be an IATA code'), regionName)
          .default({}),
        continents: z
          .partialRecord(z.enum(['AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA']), regionName)
          .default({}),
      })
      .prefault({}),
    /** Home region when the location is unknown or unmapped (default: the first region). */
    defaultRegion: regionName.optional(),
  })
  .prefault({})

/** Durable Object location hints (https://developers.cloudflare.com/durable-objects/reference/data-location/). */
const locationHint = z.enum(['wnam', 'enam', 'sam', 'weur', 'eeur', 'apac', 'oc', 'afr', 'me'])

/** Stampede protection: misses and refreshes of a key go through one Coalescer Durable Object per shard. */
export const coalescerSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** Keys map to shards by jump consistent hash: growing N → N+1 moves about 1/(N+1) of them. */
    shards: z.number().int().min(1).max(65_536).default(64),
    /**
     * `region`: one object per (shard, client home region), near the clients and their L2 region, so
     * one origin fetch per key per region. `global`: one per shard worldwide (one fetch per key, but
     * far clients pay a cross-region round trip on every miss). Without L2 there is one domain.
     */
    domain: z.enum(['global', 'region']).default('region'),
    /** How long a follower waits for the leader's fetch (default: origin.timeoutMs + 1000). */
    waitTimeoutMs: z.number().int().positive().max(130_000).optional(),
    /** Region → Durable Object location hint, for `domain = "region"`. */
    locationHints: z.record(regionName, locationHint).default({}),
  })
  .prefault({})

/** The admin API (`/_cache/*`). */
export const adminSchema = z
  .strictObject({
    /**
     * When set, `/_cache/*` answers only on this hostname; on any other it is a 404 that never
     * reaches the origin (so a public hostname need not expose the admin API at all).
     */
    hostname: z
      .string()
      .max(253)
      .regex(
        /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i,
        'must be a hostname like "admin.example.com" (RFC 1123 §2.1)'
      )
      .transform((hostname) => hostname.toLowerCase())
      .optional(),
    /**
     * Token guessing: failed token checks (admin or metrics token) allowed per client IP (IPv6 per
     * /64) in a sliding window. Past it, `/_cache/*` answers 429 without checking the token, the right
     * one included, until the oldest failure leaves the window. A limiter that cannot answer within
     * `timeoutMs` does not lock admins out: the check is skipped (and logged).
     */
    authFailures: z
      .strictObject({
        limit: z.number().int().positive().max(10_000).default(10),
        windowSeconds: z.number().int().positive().max(86_400).default(60),
        timeoutMs: z.number().int().positive().max(10_000).default(500),
      })
      .prefault({}),
  })
  .prefault({})

/** One region of L2_REGIONS: where its Upstash REST endpoint is and its token. */
export const l2RegionSchema = z.strictObject({
  name: regionName,
  url: z
    .url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' })
    .refine((url) => !/[?#]/.test(url), 'must not have a query or fragment'),
  token: z.string().min(1),
})

export const l2RegionsSchema = z
  .array(l2RegionSchema)
  .min(1)
  .max(16)
  .refine(
    (regions) => new Set(regions.map((region) => region.name)).size === regions.length,
    'region names must be unique'
  )

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
      /**
       * Per isolate (Worker and Coalescer): only an outage opens it. Transport failures, timeouts and
       * `failureStatuses` count as failures; any other answer (a 500 included) is that URL's answer.
       * It opens when at least `failureRatio` of at least `minRequests` requests in `windowMs` failed,
       * across at least `minKeys` distinct keys. While open, stale-if-error copies are served and the
       * rest get a quick 503; after `cooldownMs` one probe may go through (success closes it).
       */
      breaker: z
        .strictObject({
          enabled: z.boolean().default(true),
          failureRatio: z.number().gt(0).max(1).default(0.5),
          minRequests: z.number().int().positive().max(100_000).default(20),
          minKeys: z.number().int().positive().max(1000).default(5),
          windowMs: z.number().int().min(100).max(600_000).default(10_000),
          failureStatuses: z.array(z.number().int().min(500).max(599)).default([502, 503, 504]),
          cooldownMs: z.number().int().positive().max(600_000).default(5000),
        })
        .prefault({}),
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
      /**
       * Most variants one URL keeps (origin `Vary`, route key headers): storing one more deletes the
       * least recently stored, so a client cannot grow the cache without bound by varying a header.
       */
      maxVariantsPerKey: z.number().int().min(1).max(1024).default(32),
      /** Most tags one entry carries (Surrogate-Key, Cache-Tag and the route's); further ones are dropped. */
      maxTagsPerEntry: z.number().int().min(0).max(1024).default(64),
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
  admin: adminSchema,
  /** Request metrics, batched from each isolate into the Stats Durable Object. */
  metrics: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** An isolate flushes its deltas when its last flush is this old (ms)... */
      flushIntervalMs: z.number().int().min(0).max(60_000).default(1000),
      /** ...or once this many requests are unflushed. */
      flushRequests: z.number().int().positive().max(100_000).default(1000),
      /** Deadline for one call to the Stats Durable Object (a flush, a read). */
      timeoutMs: z.number().int().positive().max(10_000).default(500),
    })
    .prefault({}),
  /** One JSON line per request (`event: "request"`); errors are always logged. */
  logs: z
    .strictObject({
      /** Share of the other requests logged: 0 none, 1 all. */
      sampleRate: z.number().min(0).max(1).default(0.01),
    })
    .prefault({}),
  l2: l2Schema,
  coalescer: coalescerSchema,
  /** Error answers without explicit freshness (404, 410...) cached briefly, so a flood of them reaches the origin once. */
  negativeCache: z
    .strictObject({
      statuses: z.array(z.number().int().min(400).max(599)).default([404, 410]),
      /** Freshness given to them; 0 turns negative caching off. */
      ttlSeconds: seconds.max(3600).default(10),
    })
    .prefault({}),
  /** XFetch (Vattani et al.): a hit refreshes early with probability rising toward expiry. */
  xfetch: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** > 1 favours earlier refreshes, < 1 later ones. */
      beta: z.number().positive().max(100).default(1),
    })
    .prefault({}),
  /** Purges everywhere: the replayable log in every region and each isolate's view of it. */
  purge: z
    .strictObject({
      /**
       * The propagation bound: a memory/L1 copy is only served while this isolate's purge view is
       * younger than this; an older view makes those tiers unknown and the read goes to L2.
       */
      boundMs: z.number().int().min(50).max(60_000).default(1000),
      /** How often each isolate (each simulated colo) reads the regions' purge logs, off the hot path. */
      pollIntervalMs: z.number().int().min(10).max(60_000).default(100),
      /** How long purges are kept in the logs and the views; older copies are re-read from L2. */
      horizonSeconds: seconds
        .min(60)
        .max(7 * 86_400)
        .default(86_400),
      /** Most records a region's log keeps (a capped stream) and a view holds. */
      maxLogEntries: z.number().int().min(100).max(1_000_000).default(10_000),
      /** Most L2 keys one prefix purge visits per region (SCAN, bounded). */
      maxScanKeys: z.number().int().min(100).max(1_000_000).default(100_000),
    })
    .prefault({}),
  routes: z.array(routeSchema).min(1, 'at least one route is required'),
})

/** Bindings as they come from wrangler.toml vars and secrets. */
export const envSchema = z.object({
  ORIGIN_URL: z
    .url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' })
    .refine((url) => !/[?#]/.test(url), 'must not have a query or fragment'),
  CACHE_CONFIG: z.union([z.string(), z.record(z.string(), z.unknown())]),
  ADMIN_TOKEN: z.string().optional(),
  /** Secret: JSON array of {name, url, token}, one per L2 region. Without it there is no L2. */
  L2_REGIONS: z.union([z.string(), z.array(z.unknown())]).optional(),
  /** Local simulation only: honour the simulated client region header. Refused unless L2 is on loopback. */
  SIMULATION: z.enum(['', '0', '1', 'true', 'false']).optional(),
})

export type CacheConfigInput = z.input<typeof cacheConfigSchema>
export type CacheConfigParsed = z.output<typeof cacheConfigSchema>
export type RouteConfig = z.output<typeof routeSchema>
export type KeyRules = z.output<typeof keyRulesSchema>
export type RateLimitRule = z.output<typeof rateLimitRuleSchema>
export type L2Settings = z.output<typeof l2Schema>
export type L2Region = z.output<typeof l2RegionSchema>
export type CoalescerSettings = z.output<typeof coalescerSchema>
export type PurgeSettings = z.output<typeof cacheConfigSchema>['purge']
export type AdminSettings = z.output<typeof adminSchema>
