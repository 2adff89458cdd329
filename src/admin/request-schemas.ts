import { z } from 'zod'

const MAX_PURGE_URLS = 1000
const MAX_PURGE_KEYS = 1000
const MAX_PURGE_TAGS = 1000
const MAX_PURGE_PREFIXES = 100
const MAX_WARM_URLS = 100

/** A path (`/products/1?x=1`) or an absolute http(s) URL, whose host is ignored: the origin is fixed. */
const purgeUrl = z
  .string()
  .min(1)
  .max(8192)
  .refine(
    (value) => value.startsWith('/') || /^https?:\/\//i.test(value),
    'must be a path starting with "/" or an absolute http(s) URL'
  )
  .refine((value) => URL.canParse(value, 'http://purge.invalid'), 'is not a valid URL')
  .meta({
    description: 'A path starting with "/" or an absolute http(s) URL (its host is ignored).',
  })

/** Any mix of URLs, cache keys, tags and key prefixes; `soft` marks stale instead of removing. */
export const purgeRequestSchema = z
  .strictObject({
    urls: z.array(purgeUrl).max(MAX_PURGE_URLS).optional(),
    keys: z
      .array(z.string().min(1).max(16_384))
      .max(MAX_PURGE_KEYS)
      .optional()
      .meta({ description: 'Cache keys as the cache builds them (see Cache-Status `key`).' }),
    tags: z
      .array(z.string().min(1).max(256))
      .max(MAX_PURGE_TAGS)
      .optional()
      .meta({ description: 'Surrogate tags (the origin sent them in its tag header).' }),
    prefixes: z
      .array(z.string().startsWith('/', 'must be a key prefix starting with "/"').max(2048))
      .max(MAX_PURGE_PREFIXES)
      .optional()
      .meta({ description: 'Key prefixes (each starts with "/"): every key under one is purged.' }),
    soft: z
      .boolean()
      .default(false)
      .meta({ description: 'Mark the copies stale (still usable for stale-* directives).' }),
  })
  .refine(
    (body) =>
      (body.urls?.length ?? 0) +
        (body.keys?.length ?? 0) +
        (body.tags?.length ?? 0) +
        (body.prefixes?.length ?? 0) >
      0,
    'names nothing to purge: give urls, keys, tags or prefixes'
  )
  .meta({
    id: 'PurgeRequest',
    description: 'What to purge: at least one URL, key, tag or prefix.',
  })

export const warmRequestSchema = z
  .strictObject({
    urls: z.array(purgeUrl).min(1).max(MAX_WARM_URLS),
  })
  .meta({ id: 'WarmRequest', description: 'URLs to fill through the normal miss path.' })

export type PurgeRequest = z.infer<typeof purgeRequestSchema>
