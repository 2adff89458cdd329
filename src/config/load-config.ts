import { type z } from 'zod'
import { compileRateLimitRules, type CompiledRateLimitRule } from '../ratelimit/rules'
import { compileRoutes, type CompiledRoute } from './route-matcher'
import { cacheConfigSchema, envSchema, type CacheConfigParsed } from './schema'

export interface Config extends Omit<CacheConfigParsed, 'routes' | 'rateLimits'> {
  readonly originUrl: URL
  readonly adminToken: string | undefined
  readonly routes: readonly CompiledRoute[]
  readonly rateLimits: readonly CompiledRateLimitRule[]
}

export class ConfigError extends Error {
  static readonly code = 'E_CONFIG'
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
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
  let raw: unknown = bindings.data.CACHE_CONFIG
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw)
    } catch (cause) {
      throw new ConfigError('invalid CACHE_CONFIG: not valid JSON', { cause })
    }
  }
  const parsed = cacheConfigSchema.safeParse(raw)
  if (!parsed.success)
    throw new ConfigError(`invalid CACHE_CONFIG:\n${describe('CACHE_CONFIG', parsed.error)}`)
  const originUrl = new URL(bindings.data.ORIGIN_URL)
  return {
    ...parsed.data,
    originUrl,
    adminToken: bindings.data.ADMIN_TOKEN || undefined,
    routes: compileRoutes(parsed.data.routes),
    rateLimits: compileRateLimitRules(parsed.data.rateLimits),
  }
}

// Bindings are fixed for an isolate's lifetime: parse once per distinct env object.
const cache = new WeakMap<object, Config>()

export function loadConfig(env: object): Config {
  let config = cache.get(env)
  if (!config) {
    config = parseConfig(env)
    cache.set(env, config)
  }
  return config
}
