import { z } from 'zod'

/**
 * What the admin API answers, as zod schemas: the OpenAPI document is generated from them and the
 * OpenAPI test parses live answers with them, so the document cannot drift from the code. Objects are
 * strict for that reason: a field the code adds without documenting it fails the test.
 */

/** Every error the admin API (and the cache) answers: `{ "error": { "code", "message" } }`. */
export const errorBodySchema = z
  .strictObject({
    error: z.strictObject({
      code: z.string().meta({ description: 'Stable, machine-readable: `unauthorized`, ...' }),
      message: z.string().meta({ description: 'For humans; may change.' }),
    }),
  })
  .meta({ id: 'Error' })

const breakerState = z.enum(['closed', 'open', 'half-open'])

const tierHealth = z.strictObject({
  tier: z.string(),
  ok: z.boolean(),
  latencyMs: z.number(),
  error: z.string().optional(),
})

const regionProbe = z.strictObject({
  region: z.string(),
  ok: z.boolean(),
  latencyMs: z.number(),
  state: breakerState,
  rttMs: z.record(z.string(), z.number()).meta({ description: 'Round-trip EWMA per location.' }),
  minRttMs: z.record(z.string(), z.number()).meta({ description: 'Fastest recent round trip.' }),
  error: z.string().optional(),
})

export const healthResponseSchema = z
  .strictObject({
    status: z.enum(['ok', 'degraded']),
    tiers: z.array(tierHealth),
    l2: z.strictObject({ home: z.string(), regions: z.array(regionProbe) }).optional(),
    origin: z.string(),
    routes: z.number().int().nonnegative(),
  })
  .meta({ id: 'Health' })

export type HealthResponse = z.input<typeof healthResponseSchema>

export const purgeResponseSchema = z
  .strictObject({
    id: z.string(),
    at: z.number().meta({ description: 'When the purge was recorded (epoch ms).' }),
    soft: z.boolean(),
    boundMs: z.number().meta({ description: 'Every colo applies it within this bound.' }),
    scope: z.string(),
    regions: z.strictObject({
      recorded: z.array(z.string()),
      missed: z.array(
        z.strictObject({ region: z.string(), ok: z.literal(false), error: z.string().optional() })
      ),
    }),
    purged: z.number().int().nonnegative().meta({ description: 'URLs this colo held a copy of.' }),
    results: z.array(
      z.strictObject({
        url: z.string(),
        key: z.string().nullable(),
        cacheable: z.boolean(),
        deleted: z.boolean(),
      })
    ),
    status: z.string().meta({ description: 'Where to follow it: `/_cache/purge/{id}`.' }),
  })
  .meta({ id: 'PurgeReport' })

export const purgeStatusResponseSchema = z
  .strictObject({
    id: z.string(),
    applied: z.boolean().meta({ description: 'Recorded in every region.' }),
    regions: z.record(z.string(), z.boolean()),
  })
  .meta({ id: 'PurgeStatus' })

export const warmResponseSchema = z
  .strictObject({
    warmed: z.number().int().nonnegative(),
    results: z.array(
      z.strictObject({
        url: z.string(),
        status: z.number().int().nullable().meta({ description: 'Null: the URL is never cached.' }),
        cacheStatus: z.string().nullable(),
      })
    ),
  })
  .meta({ id: 'WarmReport' })

export type WarmResponse = z.input<typeof warmResponseSchema>

const outcome = z.enum(['hit', 'stale', 'miss', 'revalidated', 'pass', 'error', 'rate_limited'])
const tier = z.enum(['memory', 'L1', 'L2', 'origin', 'edge', 'other'])
const originReason = z.enum(['miss', 'revalidate', 'refresh', 'pass'])
const count = z.number().nonnegative()
const maybeNumber = z.number().nullable()

/** `/_cache/stats`: the dashboard's view (`metrics/dashboard-view.ts` `DashboardView`). */
export const statsResponseSchema = z
  .strictObject({
    now: z.number(),
    since: z.number(),
    bucketSeconds: z.number(),
    batches: count,
    totals: z.strictObject({
      requests: count,
      lookups: count,
      hitRatio: maybeNumber,
      outcomes: z.record(outcome, count),
      tiers: z.record(
        tier,
        z.strictObject({
          requests: count,
          hitRatio: maybeNumber,
          p50Ms: maybeNumber,
          p99Ms: maybeNumber,
        })
      ),
      originFetches: count,
      originFetchesByReason: z.record(originReason, count),
      coalesced: count.meta({
        description: 'Requests that waited on the origin fetch of another (stampedes absorbed).',
      }),
      evictions: z.strictObject({
        memory: count.meta({
          description: 'Copies the memory tier dropped for room, summed over isolates.',
        }),
        l2: z.number().nonnegative().nullable().meta({
          description: "Sum of the regions' INFO `evicted_keys`; null when no region was read.",
        }),
      }),
      staleServed: z.strictObject({ swr: count, sie: count }),
      purges: count,
      rateLimited: count,
      earlyRefreshes: count,
      negativeHits: count,
      l2Degraded: count,
      flushFailures: count,
      p50Ms: maybeNumber,
      p99Ms: maybeNumber,
    }),
    series: z.strictObject({
      t: z.array(z.number()),
      requestsPerSec: z.array(z.number()),
      hitRatio: z.strictObject({
        all: z.array(maybeNumber),
        memory: z.array(maybeNumber),
        L1: z.array(maybeNumber),
        L2: z.array(maybeNumber),
      }),
      originFetchesPerSec: z.array(z.number()),
      coalescedPerSec: z.array(z.number()),
      evictionsPerSec: z.array(z.number()),
      stalePerSec: z.array(z.number()),
      purgesPerSec: z.array(z.number()),
      rateLimitedPerSec: z.array(z.number()),
      p50Ms: z.array(maybeNumber),
      p99Ms: z.array(maybeNumber),
    }),
    l2: z.strictObject({
      configured: z.boolean(),
      regions: z.array(
        z.strictObject({
          region: z.string(),
          state: breakerState,
          changedAt: maybeNumber,
          served: count,
          failoversFrom: count,
          failoversTo: count,
          transitions: count,
          evictedKeys: maybeNumber.meta({
            description: "The region's INFO `evicted_keys`; null while unknown.",
          }),
        })
      ),
    }),
  })
  .meta({ id: 'Stats' })

export type StatsResponse = z.input<typeof statsResponseSchema>

/** Text bodies (Prometheus exposition, the dashboard's page and assets): documented as strings. */
export const textBodySchema = z.string()

/** The OpenAPI document itself: only what the test and a client rely on. */
export const openApiDocumentSchema = z
  .looseObject({
    openapi: z.string().startsWith('3.1.'),
    info: z.looseObject({ title: z.string(), version: z.string() }),
    paths: z.record(z.string(), z.record(z.string(), z.unknown())),
  })
  .meta({ id: 'OpenApiDocument' })
