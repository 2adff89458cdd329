import type { z } from 'zod'
import { EdgeCacheError } from '../lib/errors'
import { compileRateLimitRules, type CompiledRateLimitRule } from '../ratelimit/rules'
import { compileRoutes, type CompiledRoute } from './route-matcher'
import {
  cacheConfigSchema,
  envSchema,
  l2RegionsSchema,
  type CacheConfigParsed,
  type L2Region,
  type L2Settings,
} from './schema'

/** L2 as the Worker runs it: the policy from CACHE_CONFIG and the regions from L2_REGIONS. */
export interface L2Config extends L2Settings {
  readonly regions: readonly L2Region[]
  readonly defaultRegion: string
}

export interface Config extends Omit<CacheConfigParsed, 'routes' | 'rateLimits' | 'l2'> {
  readonly originUrl: URL
  readonly adminToken: string | undefined
  readonly routes: readonly CompiledRoute[]
  readonly rateLimits: readonly CompiledRateLimitRule[]
  /** Undefined without L2_REGIONS: the cache runs on memory and L1 alone. */
  readonly l2: L2Config | undefined
  /** Local multi-region simulation: the client's region may come from a request header. */
  readonly simulation: boolean
}

export class ConfigError extends EdgeCacheError {
  static readonly code = 'E_CONFIG'
  constructor(message: string, options?: ErrorOptions) {
    super(ConfigError.code, message, options)
    this.name = 'ConfigError'
  }
}

/** One line per problem, each naming the field (`CACHE_CONFIG.routes[2].ttl: ...`). */
function describe(prefix: string, error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path
        .map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`))
        .join('')
      return `${prefix}${path}: ${issue.message}`
    })
    .join('\n')
}

/** Validates the Worker's bindings into a Config; throws ConfigError naming every bad field. */
export function parseConfig(env: unknown): Config {
  const bindings = envSchema.safeParse(env)
  if (!bindings.success)
    throw new ConfigError(`invalid bindings:\n${describe('env', bindings.error)}`)
  const policy = parseBinding('CACHE_CONFIG', bindings.data.CACHE_CONFIG, cacheConfigSchema)
  const originUrl = new URL(bindings.data.ORIGIN_URL)
  const l2 = resolveL2(policy.l2, bindings.data.L2_REGIONS)
  const simulation = bindings.data.SIMULATION === '1' || bindings.data.SIMULATION === 'true'
  if (simulation && l2?.regions.some((region) => !isLoopback(region.url))) {
    throw new ConfigError(
      'invalid bindings:\nenv.SIMULATION: only for local simulation; every L2_REGIONS url must be on loopback'
    )
  }
  return {
    ...policy,
    originUrl,
    adminToken: bindings.data.ADMIN_TOKEN || undefined,
    routes: compileRoutes(policy.routes),
    rateLimits: compileRateLimitRules(policy.rateLimits),
    l2,
    simulation,
  }
}

/** A binding given as an object (wrangler.toml) or as JSON text (`--var`, a secret), validated. */
function parseBinding<T extends z.ZodType>(name: string, raw: unknown, schema: T): z.output<T> {
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw)
    } catch (cause) {
      throw new ConfigError(`invalid ${name}: not valid JSON`, { cause })
    }
  }
  const parsed = schema.safeParse(raw)
  if (!parsed.success) throw new ConfigError(`invalid ${name}:\n${describe(name, parsed.error)}`)
  return parsed.data
}

function resolveL2(settings: L2Settings, raw: unknown): L2Config | undefined {
  if (raw === undefined || raw === '') return undefined
  const regions = parseBinding('L2_REGIONS', raw, l2RegionsSchema)
  const names = new Set(regions.map((region) => region.name))
  const unknown = [
    ...(settings.defaultRegion === undefined ? [] : [['defaultRegion', settings.defaultRegion]]),
    ...Object.entries(settings.locations.colos).map(([k, v]) => [`locations.colos.${k}`, v]),
    ...Object.entries(settings.locations.continents).map(([k, v]) => [
      `locations.continents.${k}`,
      v,
    ]),
  ].filter(([, region]) => !names.has(region!))
  if (unknown.length > 0) {
    const known = [...names].join(', ')
    throw new ConfigError(
      `invalid CACHE_CONFIG:\n${unknown.map(([path, region]) => `CACHE_CONFIG.l2.${path}: no region "${region}" in L2_REGIONS (${known})`).join('\n')}`
    )
  }
  return {
    ...settings,
    regions,
    defaultRegion: settings.defaultRegion ?? regions[0]!.name,
  }
}

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host)
}
