import { z } from 'zod'

// Field documentation lives in `.describe()`: it is what docs/configuration.md and
// docs/cache-config.schema.json are generated from (`npm run docs:config`).

const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be an HTTP header name (RFC 9110 §5.1)')
  .transform((name) => name.toLowerCase())

const seconds = z.number().int().nonnegative()

export const keyRulesSchema = z
  .strictObject({
    ignoreQuery: z
      .array(z.string().min(1))
      .default([])
      .describe(
        'Query parameters dropped from the key and from the origin request (globs: `utm_*`).'
      ),
    allowQuery: z
      .array(z.string().min(1))
      .optional()
      .describe(
        'If set, only these query parameters are kept (in the key and towards the origin).'
      ),
    headers: z
      .array(headerName)
      .default([])
      .describe('Request headers whose values select a variant (and are forwarded to the origin).'),
  })
  .prefault({})
  .describe('What makes up the cache key of a route, beyond the path.')

export const routeSchema = z
  .strictObject({
    pattern: z
      .string()
      .startsWith('/', 'must start with "/"')
      .regex(/^[^?#]*$/, 'must be a path, without query or fragment')
      .describe(
        'Path glob: `*` matches within one segment, `**` across segments; `/a/**` also matches `/a`.'
      ),
    bypass: z
      .boolean()
      .default(false)
      .describe('Pass straight through to the origin, never cached.'),
    ttl: seconds
      .optional()
      .describe(
        "Freshness lifetime that replaces the origin's (many APIs send no cache headers). " +
          'Omit to honour the origin.'
      ),
    staleWhileRevalidate: seconds
      .default(0)
      .describe(
        'RFC 5861 `stale-while-revalidate` default, used when the origin does not send its own ' +
          'directive (or always, with `ttl`).'
      ),
    staleIfError: seconds
      .default(0)
      .describe(
        'RFC 5861 `stale-if-error` default, used when the origin does not send its own directive ' +
          '(or always, with `ttl`).'
      ),
    membership: z
      .strictObject({
        source: z
          .string()
          .startsWith('/', 'must be an origin path starting with "/"')
          .max(2048)
          .describe(
            'Origin path that lists the valid ids: a JSON array of strings or numbers, or ' +
              '`{"ids": [...]}`.'
          ),
        refreshSeconds: seconds
          .min(5)
          .max(86_400)
          .default(60)
          .describe('How often the list is fetched again (in the background).'),
        falsePositiveRate: z
          .number()
          .min(0.000_001)
          .max(0.2)
          .default(0.01)
          .describe('The Bloom filter is sized for this rate of absent ids let through.'),
        maxIds: z
          .number()
          .int()
          .min(1)
          .max(10_000_000)
          .default(1_000_000)
          .describe('A longer list is refused as a whole (the guard stays open): never truncated.'),
      })
      .optional()
      .describe(
        'Penetration guard: requests whose last path segment is certainly not in the origin’s ' +
          'list of valid ids get a 404 at the edge, without an origin fetch. Open (requests pass) ' +
          'while the list loads, fails, or is older than twice refreshSeconds.'
      ),
    writeThrough: z
      .boolean()
      .default(false)
      .describe(
        'After a successful unsafe request (PUT, PATCH, POST, DELETE…) to a URL of this route, ' +
          'refill it from the origin in the background (after the invalidation, through the ' +
          'coalescer), so the next reader hits.'
      ),
    freshnessJitter: z
      .number()
      .min(0)
      .max(0.5)
      .default(0)
      .describe(
        "Shortens each copy's freshness by a random share of it, up to this fraction (never " +
          'lengthens it), so copies filled together go stale apart in every tier (0: off).'
      ),
    adaptiveTtl: z
      .strictObject({
        ceilingSeconds: seconds
          .min(1)
          .max(31_536_000)
          .describe(
            'The longest freshness a hot key may be given. A lifetime already longer (the ' +
              "origin's or `ttl`) is kept, never cut to it."
          ),
        floorShare: z
          .number()
          .min(0)
          .max(1)
          .default(0.5)
          .describe('A cold key keeps at least this share of its lifetime (1: never shortened).'),
        coldPerMinute: z
          .number()
          .positive()
          .default(1)
          .describe('At or below this many requests a minute a key is cold: the floor.'),
        hotPerMinute: z
          .number()
          .positive()
          .default(60)
          .describe(
            'At or above this many requests a minute a key is hot: the ceiling. In between, ' +
              'freshness moves from floor to ceiling on a log scale of the rate.'
          ),
        halfLifeSeconds: seconds
          .min(1)
          .max(86_400)
          .default(60)
          .describe("Half-life of the request-rate estimate's exponential decay."),
      })
      .refine((adaptive) => adaptive.hotPerMinute > adaptive.coldPerMinute, {
        message: 'hotPerMinute must be above coldPerMinute',
        path: ['hotPerMinute'],
      })
      .optional()
      .describe(
        'Adaptive TTL by popularity: lengthens the freshness of hot keys (up to `ceilingSeconds`) ' +
          'and shortens cold ones (down to `floorShare`), from a per-key request-rate estimate ' +
          'kept by the Coalescer objects (fed with each isolate’s request counts). Never ' +
          'lengthens an answer whose origin sent `no-cache`, `must-revalidate`, ' +
          '`proxy-revalidate` or `s-maxage`; a route `ttl` is the lifetime it scales.'
      ),
    key: keyRulesSchema,
    forwardHeaders: z
      .array(headerName)
      .optional()
      .describe(
        'Request headers forwarded to the origin on cacheable requests, besides the key headers.'
      ),
    tags: z
      .array(z.string().min(1).max(256))
      .default([])
      .describe('Tags every entry of this route carries (for purge by tag).'),
    requestDirectives: z
      .boolean()
      .default(false)
      .describe(
        "Honour the client's Cache-Control request directives (RFC 9111 §5.2.1): `no-cache` (and " +
          '`Pragma: no-cache`) and `max-age`/`min-fresh` revalidate the stored copy with the origin, ' +
          '`max-stale` accepts a stale one, `no-store` keeps this exchange out of the cache. Off by ' +
          'default, as on most CDNs: a client must not be able to make the shared cache skip its ' +
          'copies and load the origin (a `no-cache` storm would reach it). Off, they are ignored, ' +
          'except `only-if-cached`, honoured on every route: it answers from a stored copy or 504, so ' +
          'it never costs the origin anything.'
      ),
    authorization: z
      .enum(['bypass', 'rfc9111'])
      .default('bypass')
      .describe(
        'Requests with Authorization. `bypass` (default): passed through, never cached (unless ' +
          'the key holds `authorization`). `rfc9111` (RFC 9111 §3.5): an answer to an authorised ' +
          'request is stored and reused, for any credential, only when it says `public`, ' +
          '`s-maxage` or `must-revalidate` (and does not vary on Authorization); such copies live ' +
          'apart from anonymous ones (the key holds whether the request was authorised, never the ' +
          'credential), Authorization is forwarded on fills, requests with different credentials ' +
          "never share an origin fetch, and a stale copy is revalidated with the requester's own " +
          'credentials.'
      ),
  })
  .refine(
    (route) => route.authorization === 'bypass' || !route.key.headers.includes('authorization'),
    {
      message:
        '`authorization = "rfc9111"` shares answers across credentials; a key on `authorization` ' +
        'keeps one copy per credential: choose one',
      path: ['authorization'],
    }
  )
  .describe('One route: the paths it matches and how their answers are cached.')

export const rateLimitRuleSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z][a-z0-9_-]{0,31}$/, 'must be a short lower-case token')
      .describe("Names the rule in RateLimit headers and in its Durable Object's name."),
    pattern: z
      .string()
      .startsWith('/', 'must start with "/"')
      .default('/**')
      .describe('Path glob, as for routes.'),
    methods: z
      .array(z.string().regex(/^[A-Z]+$/, 'must be an upper-case method'))
      .optional()
      .describe('Methods counted (upper-case); all when omitted.'),
    counts: z
      .enum(['requests', 'origin'])
      .default('requests')
      .describe(
        'What the rule counts. `requests`: every matching request, checked before the cache. ' +
          '`origin` (a miss-rate limit): only requests that reach the origin (misses, ' +
          'revalidations, pass-through), checked at the origin door after the tiers were read; ' +
          'hits, stale-while-revalidate copies and background refreshes never consult it, and a ' +
          'coalesced follower gives its permit back, so an enumeration of ids is cut off with 429 ' +
          'while its client’s hits stay unlimited.'
      ),
    identity: z
      .strictObject({
        ip: z.boolean().default(false).describe('Count per client IP (CF-Connecting-IP).'),
        ipv6Prefix: z
          .number()
          .int()
          .min(1)
          .max(128)
          .default(64)
          .describe(
            'IPv6 clients count per prefix of this many bits: one host usually holds a whole /64, ' +
              'so the full address would give it 2^64 identities. IPv4 (and IPv4-mapped IPv6) ' +
              'stays exact.'
          ),
        headers: z
          .array(headerName)
          .default([])
          .describe('Count per value of these request headers (e.g. an API key).'),
        buckets: z
          .number()
          .int()
          .min(1)
          .max(2 ** 20)
          .default(65_536)
          .describe(
            'With headers, whose values the client chooses, the identity is hashed into this many ' +
              'buckets per rule (one Durable Object each), so no client can create objects without ' +
              'bound. The trade-off: identities that collide share one limit, which is more ' +
              'restrictive, never less. More buckets, fewer collisions. Rules on `ip` alone keep ' +
              'one object per (masked) address.'
          ),
      })
      .refine((identity) => identity.ip || identity.headers.length > 0, 'needs ip or headers')
      .describe(
        'What identifies a client: its IP (CF-Connecting-IP), request headers (e.g. an API key), ' +
          'or both. It needs `ip = true` or at least one header.'
      ),
    limit: z
      .number()
      .int()
      .positive()
      .max(10_000)
      .describe('Requests allowed per identity in the window.'),
    windowSeconds: z
      .number()
      .int()
      .positive()
      .max(86_400)
      .describe('Length of the sliding window, in seconds.'),
    failMode: z
      .enum(['open', 'closed'])
      .default('open')
      .describe(
        'When the limiter cannot answer within `timeoutMs`: admit (open) or refuse with 503 (closed).'
      ),
    timeoutMs: z
      .number()
      .int()
      .positive()
      .max(10_000)
      .default(500)
      .describe("Deadline for the limiter's answer (see `failMode`)."),
    leaseSize: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(8)
      .describe(
        'Permits an isolate leases from the limiter at a time, its own request included, and ' +
          'admits locally until used or a tenth of the window (at most 10 s) has passed: about ' +
          "1/leaseSize of the Durable Object round trips. With a few round trips' worth of permits " +
          'left (at most half a lease), the next one (sized by recent use, up to 8 × leaseSize) is ' +
          'asked for in the background, so a busy identity rarely waits on the limiter. ' +
          'Admissions stay exact (leased permits count as used); permits leased and not yet used ' +
          '(one renewal more) may refuse other isolates. 1: the limiter decides every request.'
      ),
  })
  .describe(
    'One rate-limit rule: which requests it counts, per which identity, how many per window.'
  )

const regionName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'must be a region name like "eu-west"')

export const l2Schema = z
  .strictObject({
    timeoutMs: z
      .number()
      .int()
      .positive()
      .max(10_000)
      .default(150)
      .describe(
        'Deadline for one call to one region; a slower region counts as failed and the read moves on.'
      ),
    readDeadlineMs: z
      .number()
      .int()
      .positive()
      .max(10_000)
      .default(400)
      .describe('Deadline for a whole read, failovers included.'),
    writeTimeoutMs: z
      .number()
      .int()
      .positive()
      .max(30_000)
      .default(1000)
      .describe('Deadline for a fill or a delete in one region.'),
    ttlJitter: z
      .number()
      .min(0)
      .max(1)
      .default(0.1)
      .describe(
        'Hard TTLs get up to this share added at random, so keys filled together do not expire ' +
          'together.'
      ),
    maxTagMembers: z
      .number()
      .int()
      .min(100)
      .max(10_000_000)
      .default(200_000)
      .describe(
        "Most entries one tag's index holds per region (a sorted set by expiry, trimmed on every " +
          'write). Beyond it the soonest-expiring entries are deleted with their index members, so ' +
          "no stored copy is ever out of its tag's reach."
      ),
    keyPrefix: z
      .string()
      .max(64)
      .default('ec:')
      .describe('Prefix of every key this cache writes (entries and tag sets).'),
    breaker: z
      .strictObject({
        failureThreshold: z
          .number()
          .int()
          .positive()
          .max(1000)
          .default(3)
          .describe("Consecutive failures (errors or timeouts) that open a region's breaker."),
        cooldownMs: z
          .number()
          .int()
          .positive()
          .max(600_000)
          .default(5000)
          .describe('How long an open breaker skips its region before one probe may try it again.'),
      })
      .prefault({})
      .describe('Per-region circuit breaker.'),
    rttAlpha: z
      .number()
      .gt(0)
      .max(1)
      .default(0.2)
      .describe("Weight of the newest sample in a region's round-trip estimate (EWMA)."),
    homeBiasMs: z
      .number()
      .min(0)
      .max(1000)
      .default(5)
      .describe('The home region keeps first place unless another is faster by more than this.'),
    probeIntervalMs: z
      .number()
      .int()
      .min(100)
      .max(3_600_000)
      .default(10_000)
      .describe(
        'How often an isolate pings every region to keep the estimates current (off the request ' +
          'path).'
      ),
    locations: z
      .strictObject({
        colos: z
          .record(z.string().regex(/^[A-Z]{3}$/, 'must be an IATA code'), regionName)
          .default({})
          .describe('Cloudflare colo (IATA code) → home region.'),
        continents: z
          .partialRecord(z.enum(['AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA']), regionName)
          .default({})
          .describe('Continent → home region, for colos not listed in `colos`.'),
      })
      .prefault({})
      .describe('Where a client is: Cloudflare colo (IATA code) or continent → home region.'),
    defaultRegion: regionName
      .optional()
      .describe(
        'Home region when the location is unknown or unmapped (default: the first region).'
      ),
  })
  .prefault({})
  .describe(
    'L2: the regional Upstash Redis tier. Connections come from the L2_REGIONS secret; this is policy.'
  )

const locationHint = z
  .enum(['wnam', 'enam', 'sam', 'weur', 'eeur', 'apac', 'oc', 'afr', 'me'])
  .describe(
    'Durable Object location hint ' +
      '(https://developers.cloudflare.com/durable-objects/reference/data-location/).'
  )

export const coalescerSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Stampede protection on or off.'),
    shards: z
      .number()
      .int()
      .min(1)
      .max(65_536)
      .default(64)
      .describe(
        'Keys map to shards by jump consistent hash: growing N → N+1 moves about 1/(N+1) of them.'
      ),
    domain: z
      .enum(['global', 'region'])
      .default('region')
      .describe(
        '`region`: one object per (shard, client home region), near the clients and their L2 ' +
          'region, so one origin fetch per key per region. `global`: one per shard worldwide (one ' +
          'fetch per key, but far clients pay a cross-region round trip on every miss). Without ' +
          'L2 there is one domain.'
      ),
    waitTimeoutMs: z
      .number()
      .int()
      .positive()
      .max(130_000)
      .optional()
      .describe(
        "How long a follower waits for the leader's fetch (default: origin.timeoutMs + 1000)."
      ),
    locationHints: z
      .record(regionName, locationHint)
      .default({})
      .describe('Region → Durable Object location hint, for `domain = "region"`.'),
  })
  .prefault({})
  .describe(
    'Stampede protection: misses and refreshes of a key go through one Coalescer Durable Object ' +
      'per shard.'
  )

export const adminSchema = z
  .strictObject({
    hostname: z
      .string()
      .max(253)
      .regex(
        /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/,
        'must be a hostname like "admin.example.com" (RFC 1123 §2.1)'
      )
      .transform((hostname) => hostname.toLowerCase())
      .optional()
      .describe(
        'When set, `/_cache/*` answers only on this hostname; on any other it is a 404 that never ' +
          'reaches the origin (so a public hostname need not expose the admin API at all).'
      ),
    authFailures: z
      .strictObject({
        limit: z
          .number()
          .int()
          .positive()
          .max(10_000)
          .default(10)
          .describe('Failed token checks allowed per client IP in the window.'),
        windowSeconds: z
          .number()
          .int()
          .positive()
          .max(86_400)
          .default(60)
          .describe('Length of the sliding window, in seconds.'),
        timeoutMs: z
          .number()
          .int()
          .positive()
          .max(10_000)
          .default(500)
          .describe("Deadline for the limiter's answer; past it the check is skipped."),
      })
      .prefault({})
      .describe(
        'Token guessing: failed token checks (admin or metrics token) allowed per client IP (IPv6 ' +
          'per /64) in a sliding window. Past it, `/_cache/*` answers 429 without checking the ' +
          'token, the right one included, until the oldest failure leaves the window. A limiter ' +
          'that cannot answer within `timeoutMs` does not lock admins out: the check is skipped ' +
          '(and logged).'
      ),
  })
  .prefault({})
  .describe('The admin API (`/_cache/*`).')

const MAX_WARMING_URLS = 500

/** Whitespace, a C0 or DEL control character, or `#` (a fragment never reaches a server). */
function unsafeInPath(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i)
    if (code <= 0x20 || code === 0x7f || code === 0x23) return true
  }
  return /\s/.test(value)
}

/** A path as a client sends it: `/products/1?lang=en`. Hosts are not accepted: the origin is fixed. */
const warmingPath = z
  .string()
  .min(1)
  .max(8192)
  .startsWith('/', 'must be a path starting with "/"')
  .refine((value) => !value.startsWith('//'), 'must be a path, not a "//host" reference')
  .refine((value) => !unsafeInPath(value), 'must not contain spaces, control characters or "#"')
  .refine((value) => URL.canParse(value, 'http://warming.invalid'), 'is not a valid URL path')

export const warmingSchema = z
  .strictObject({
    urls: z
      .array(warmingPath)
      .max(MAX_WARMING_URLS, `at most ${MAX_WARMING_URLS} URLs per run`)
      .refine((urls) => new Set(urls).size === urls.length, 'must not repeat a URL')
      .default([])
      .describe(
        'Paths (with their query) filled on every scheduled run, as GETs a client without ' +
          'headers could send, through the normal miss path: a fresh copy is left alone, and only ' +
          'what a miss would store is stored. Each starts with `/` (not `//`), has no spaces, ' +
          'control characters or `#`, and is listed once. Empty (the default): runs do nothing.'
      ),
    baseUrl: z
      .url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' })
      .refine(
        (url) => !URL.canParse(url) || (new URL(url).pathname === '/' && !/[?#]/.test(url)),
        'must be an origin only, like "https://api-cache.example.com"'
      )
      .optional()
      .describe(
        "The Worker's public URL (`https://api-cache.example.com`): L1 keys hold the hostname a " +
          'request came on, and a scheduled run has no request, so its copies go under this one. ' +
          'Required with `urls` or `topKeys`.'
      ),
    topKeys: z
      .number()
      .int()
      .min(0)
      .max(100)
      .default(0)
      .describe(
        'Also warm the N paths most requested lately (GET lookups of cached routes, counted in the ' +
          'Stats Durable Object, halving every 10 minutes; paths up to 256 characters), after ' +
          '`urls`. 0 (the default): paths are neither counted nor warmed.'
      ),
    cron: z
      .string()
      .min(1)
      .max(128)
      .optional()
      .describe(
        'Only scheduled events of this cron expression (as in `[triggers] crons`) warm; every ' +
          'one when omitted.'
      ),
    concurrency: z
      .number()
      .int()
      .min(1)
      .max(32)
      .default(6)
      .describe(
        'URLs filled at once: warming must not become a stampede of its own (a Worker invocation ' +
          'also opens at most six connections at a time).'
      ),
    deadlineMs: z
      .number()
      .int()
      .min(100)
      .max(900_000)
      .default(30_000)
      .describe(
        'Deadline for the whole run: past it no URL is started and those in flight are given up ' +
          '(counted as `timeout`), so a hanging origin cannot hold the run.'
      ),
  })
  .refine((warming) => warming.urls.length === 0 || warming.baseUrl !== undefined, {
    message: 'is required when `urls` is set (the hostname scheduled fills are stored under)',
    path: ['baseUrl'],
  })
  .refine((warming) => warming.topKeys === 0 || warming.baseUrl !== undefined, {
    message: 'is required when `topKeys` is set (the hostname scheduled fills are stored under)',
    path: ['baseUrl'],
  })
  .prefault({})
  .describe(
    'Scheduled warming: on each Cron Trigger (`[triggers] crons` in wrangler.toml) these URLs are ' +
      'filled through the normal miss path, a few at a time, within a deadline.'
  )

export const l2RegionSchema = z
  .strictObject({
    name: regionName.describe('Region name, as used in `CACHE_CONFIG.l2` (e.g. `eu-west`).'),
    url: z
      .url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' })
      .refine((url) => !/[?#]/.test(url), 'must not have a query or fragment')
      .describe("The region's Upstash REST endpoint (no query or fragment)."),
    token: z.string().min(1).describe("The region's Upstash REST token."),
  })
  .describe('One region of L2_REGIONS: where its Upstash REST endpoint is and its token.')

export const l2RegionsSchema = z
  .array(l2RegionSchema)
  .min(1)
  .max(16)
  .refine(
    (regions) => new Set(regions.map((region) => region.name)).size === regions.length,
    'region names must be unique'
  )
  .describe('The L2 regions, each named once.')

export const cacheConfigSchema = z
  .strictObject({
    cacheName: z
      .string()
      .min(1)
      .default('edge-cache')
      .describe('Name of the Cache API cache used as L1.'),
    statusName: z
      .string()
      .regex(/^[A-Za-z*][A-Za-z0-9_.:/*-]*$/, 'must be an RFC 8941 token')
      .default('edge-cache')
      .describe("The cache's name in RFC 9211 `Cache-Status`."),
    origin: z
      .strictObject({
        timeoutMs: z
          .number()
          .int()
          .positive()
          .max(120_000)
          .default(10_000)
          .describe('Deadline for one origin fetch, in milliseconds.'),
        forwardHeaders: z
          .array(headerName)
          .default(['accept', 'accept-language'])
          .describe(
            'Default request headers forwarded on cacheable requests (routes may replace the list).'
          ),
        breaker: z
          .strictObject({
            enabled: z.boolean().default(true).describe('The origin breaker on or off.'),
            failureRatio: z
              .number()
              .gt(0)
              .max(1)
              .default(0.5)
              .describe('Share of failed requests in the window that opens the breaker.'),
            minRequests: z
              .number()
              .int()
              .positive()
              .max(100_000)
              .default(20)
              .describe('Fewest requests in the window before the breaker may open.'),
            minKeys: z
              .number()
              .int()
              .positive()
              .max(1000)
              .default(5)
              .describe('Fewest distinct keys the failures must span before the breaker may open.'),
            windowMs: z
              .number()
              .int()
              .min(100)
              .max(600_000)
              .default(10_000)
              .describe('The window requests and failures are counted in, in milliseconds.'),
            failureStatuses: z
              .array(z.number().int().min(500).max(599))
              .default([502, 503, 504])
              .describe("Origin statuses that count as failures (any other is that URL's answer)."),
            cooldownMs: z
              .number()
              .int()
              .positive()
              .max(600_000)
              .default(5000)
              .describe('How long the breaker stays open before one probe may go through.'),
          })
          .prefault({})
          .describe(
            'Per isolate (Worker and Coalescer): only an outage opens it. Transport failures, ' +
              'timeouts and `failureStatuses` count as failures; any other answer (a 500 ' +
              "included) is that URL's answer. It opens when at least `failureRatio` of at least " +
              '`minRequests` requests in `windowMs` failed, across at least `minKeys` distinct ' +
              'keys. While open, stale-if-error copies are served and the rest get a quick 503; ' +
              'after `cooldownMs` one probe may go through (success closes it).'
          ),
      })
      .prefault({})
      .describe('The origin (the ORIGIN_URL binding): deadline, forwarded headers, breaker.'),
    limits: z
      .strictObject({
        maxBodyBytes: z
          .number()
          .int()
          .positive()
          .max(100 * 1024 * 1024)
          .default(5 * 1024 * 1024)
          .describe('Responses larger than this are streamed through, never stored.'),
        maxKeyLength: z
          .number()
          .int()
          .min(64)
          .max(16_384)
          .default(2048)
          .describe('Keys longer than this are not cached (the request is still served).'),
        maxVariantsPerKey: z
          .number()
          .int()
          .min(1)
          .max(1024)
          .default(32)
          .describe(
            'Most variants one URL keeps (origin `Vary`, route key headers): storing one more ' +
              'deletes the least recently stored, so a client cannot grow the cache without bound ' +
              'by varying a header.'
          ),
        maxTagsPerEntry: z
          .number()
          .int()
          .min(0)
          .max(1024)
          .default(64)
          .describe(
            "Most tags one entry carries (Surrogate-Key, Cache-Tag and the route's); further " +
              'ones are dropped.'
          ),
        maxAdminBodyBytes: z
          .number()
          .int()
          .positive()
          .default(64 * 1024)
          .describe('Largest admin request body accepted.'),
      })
      .prefault({})
      .describe('Size limits.'),
    memory: z
      .strictObject({
        maxEntries: z
          .number()
          .int()
          .min(0)
          .max(100_000)
          .default(1000)
          .describe('Most entries per isolate (the least recently used go first).'),
        maxBytes: z
          .number()
          .int()
          .min(0)
          .max(256 * 1024 * 1024)
          .default(16 * 1024 * 1024)
          .describe('Most bytes per isolate; a larger entry is not kept there.'),
        maxAgeMs: z
          .number()
          .int()
          .min(0)
          .max(60_000)
          .default(1000)
          .describe('Longest a copy lives in the tier, in milliseconds.'),
      })
      .prefault({})
      .describe(
        'The in-isolate hot tier in front of L1. A copy lives there at most `maxAgeMs`, which ' +
          'bounds how long a purge made in another isolate can go unnoticed; 0 entries turns it ' +
          'off.'
      ),
    targetedCacheControl: z
      .array(headerName)
      .max(8)
      .default(['cloudflare-cdn-cache-control', 'cdn-cache-control'])
      .refine(
        (names) => !names.some((name) => name === 'cache-control' || name === 'surrogate-control'),
        'Cache-Control and Surrogate-Control are not targeted fields'
      )
      .refine((names) => new Set(names).size === names.length, 'must not repeat a field')
      .describe(
        'RFC 9213 target list, highest precedence first: the first of these response fields that ' +
          'is present and a valid Structured Fields Dictionary replaces Cache-Control, Expires and ' +
          'Pragma for this cache, and is removed from what clients receive (the others pass ' +
          'through). An empty or invalid one is ignored. `[]` turns targeted fields off.'
      ),
    heuristic: z
      .strictObject({
        fraction: z
          .number()
          .min(0)
          .max(1)
          .default(0.1)
          .describe('Share of the time since Last-Modified taken as the freshness lifetime.'),
        maxSeconds: seconds
          .default(86_400)
          .describe('Longest heuristic freshness lifetime, in seconds.'),
      })
      .prefault({})
      .describe(
        'Heuristic freshness (RFC 9111 §4.2.2) for responses with Last-Modified but no explicit ' +
          'lifetime.'
      ),
    retainStaleSeconds: seconds
      .max(7 * 86_400)
      .default(3600)
      .describe(
        'Stale copies with a validator are kept this long past their last usable instant, to ' +
          'revalidate with a 304.'
      ),
    rateLimits: z
      .array(rateLimitRuleSchema)
      .default([])
      .describe('Rate limits, checked before the cache; every matching rule applies.'),
    admin: adminSchema,
    metrics: z
      .strictObject({
        enabled: z.boolean().default(true).describe('Request metrics on or off.'),
        flushIntervalMs: z
          .number()
          .int()
          .min(0)
          .max(60_000)
          .default(1000)
          .describe('An isolate flushes its deltas when its last flush is this old (ms)...'),
        flushRequests: z
          .number()
          .int()
          .positive()
          .max(100_000)
          .default(1000)
          .describe('...or once this many requests are unflushed.'),
        timeoutMs: z
          .number()
          .int()
          .positive()
          .max(10_000)
          .default(500)
          .describe('Deadline for one call to the Stats Durable Object (a flush, a read).'),
        l2InfoIntervalMs: z
          .number()
          .int()
          .min(0)
          .max(3_600_000)
          .default(30_000)
          .describe(
            "How often an isolate may read the L2 regions' `INFO stats` (their `evicted_keys`): " +
              'only when `/_cache/metrics` or `/_cache/stats` is read, one INFO per region at most ' +
              'this often (ms), the last result shown in between; 0: never.'
          ),
      })
      .prefault({})
      .describe('Request metrics, batched from each isolate into the Stats Durable Object.'),
    logs: z
      .strictObject({
        sampleRate: z
          .number()
          .min(0)
          .max(1)
          .default(0.01)
          .describe('Share of the other requests logged: 0 none, 1 all.'),
      })
      .prefault({})
      .describe('One JSON line per request (`event: "request"`); errors are always logged.'),
    l2: l2Schema,
    coalescer: coalescerSchema,
    negativeCache: z
      .strictObject({
        statuses: z
          .array(z.number().int().min(400).max(599))
          .default([404, 410])
          .describe('The error statuses cached this way.'),
        ttlSeconds: seconds
          .max(3600)
          .default(10)
          .describe('Freshness given to them; 0 turns negative caching off.'),
      })
      .prefault({})
      .describe(
        'Error answers without explicit freshness (404, 410...) cached briefly, so a flood of ' +
          'them reaches the origin once.'
      ),
    xfetch: z
      .strictObject({
        enabled: z.boolean().default(true).describe('Early refreshes on or off.'),
        beta: z
          .number()
          .positive()
          .max(100)
          .default(1)
          .describe('> 1 favours earlier refreshes, < 1 later ones.'),
      })
      .prefault({})
      .describe(
        'XFetch (Vattani et al.): a hit refreshes early with probability rising toward expiry.'
      ),
    purge: z
      .strictObject({
        boundMs: z
          .number()
          .int()
          .min(50)
          .max(60_000)
          .default(1000)
          .describe(
            "The propagation bound: a memory/L1 copy is only served while this isolate's purge " +
              'view is younger than this; an older view makes those tiers unknown and the read ' +
              'goes to L2.'
          ),
        pollIntervalMs: z
          .number()
          .int()
          .min(10)
          .max(60_000)
          .default(100)
          .describe(
            "How often each isolate (each simulated colo) reads the regions' purge logs, off the " +
              'hot path.'
          ),
        horizonSeconds: seconds
          .min(60)
          .max(7 * 86_400)
          .default(86_400)
          .describe(
            'How long purges are kept in the logs and the views; older copies are re-read from L2.'
          ),
        maxLogEntries: z
          .number()
          .int()
          .min(100)
          .max(1_000_000)
          .default(10_000)
          .describe("Most records a region's log keeps (a capped stream) and a view holds."),
        maxScanKeys: z
          .number()
          .int()
          .min(100)
          .max(1_000_000)
          .default(100_000)
          .describe('Most L2 keys one prefix purge visits per region (SCAN, bounded).'),
      })
      .prefault({})
      .describe(
        "Purges everywhere: the replayable log in every region and each isolate's view of it."
      ),
    warming: warmingSchema,
    routes: z
      .array(routeSchema)
      .min(1, 'at least one route is required')
      .describe(
        'Routes, matched in order: the first match wins; a path that matches no route passes ' +
          'through uncached.'
      ),
  })
  .describe('The cache policy (the CACHE_CONFIG binding). Every field but `routes` has a default.')

export const envSchema = z
  .object({
    ORIGIN_URL: z
      .url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' })
      .refine((url) => !/[?#]/.test(url), 'must not have a query or fragment')
      .describe(
        'Where cache misses go: an absolute http(s) URL without query or fragment. Never taken ' +
          'from the request (no open proxy).'
      ),
    CACHE_CONFIG: z
      .union([z.string(), z.record(z.string(), z.unknown())])
      .describe(
        'The cache policy: a `[vars.CACHE_CONFIG]` table in wrangler.toml, or the same as JSON text.'
      ),
    ADMIN_TOKEN: z
      .string()
      .optional()
      .describe('Secret: bearer token of the `/_cache` admin API (disabled, 503, without it).'),
    METRICS_TOKEN: z
      .string()
      .optional()
      .describe(
        'Secret (optional): a read-only token for `/_cache/metrics` and `/_cache/stats`, so a ' +
          'scraper need not hold the token that purges. ADMIN_TOKEN is accepted there too.'
      ),
    L2_REGIONS: z
      .union([z.string(), z.array(z.unknown())])
      .optional()
      .describe(
        'Secret: JSON array of {name, url, token}, one per L2 region. Without it there is no L2.'
      ),
    SIMULATION: z
      .enum(['', '0', '1', 'true', 'false'])
      .optional()
      .describe(
        'Local simulation only: honour the simulated client region header. Refused unless L2 is ' +
          'on loopback.'
      ),
  })
  .describe('Bindings as they come from wrangler.toml vars and secrets.')

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
export type WarmingSettings = z.output<typeof warmingSchema>
