import { describe, it, expect } from 'vitest'
import { ConfigError, parseConfig } from '../../src/config/load-config'
import { loadConfig } from '../../src/runtime/isolate'
import { compilePattern, compileRoutes, matchRoute } from '../../src/config/route-matcher'
import type { RouteConfig } from '../../src/config/schema'

const MINIMAL = { routes: [{ pattern: '/api/**' }] }

function env(overrides: Record<string, unknown> = {}) {
  return { ORIGIN_URL: 'https://api.example.com', CACHE_CONFIG: MINIMAL, ...overrides }
}

function configError(input: unknown): ConfigError {
  try {
    parseConfig(input)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return error as ConfigError
  }
  throw new Error('expected parseConfig to throw')
}

describe('parseConfig', () => {
  it('parses a minimal env and fills every default', () => {
    const config = parseConfig(env())
    expect(config.originUrl).toBeInstanceOf(URL)
    expect(config.originUrl.href).toBe('https://api.example.com/')
    expect(config.adminToken).toBeUndefined()
    expect(config.cacheName).toBe('edge-cache')
    expect(config.statusName).toBe('edge-cache')
    expect(config.origin).toEqual({
      timeoutMs: 10_000,
      forwardHeaders: ['accept', 'accept-language'],
      breaker: {
        enabled: true,
        failureRatio: 0.5,
        minRequests: 20,
        minKeys: 5,
        windowMs: 10_000,
        failureStatuses: [502, 503, 504],
        cooldownMs: 5000,
      },
    })
    expect(config.coalescer).toEqual({
      enabled: true,
      shards: 64,
      domain: 'region',
      locationHints: {},
    })
    expect(config.negativeCache).toEqual({ statuses: [404, 410], ttlSeconds: 10 })
    expect(config.xfetch).toEqual({ enabled: true, beta: 1 })
    expect(config.limits).toEqual({
      maxBodyBytes: 5 * 1024 * 1024,
      maxKeyLength: 2048,
      maxAdminBodyBytes: 64 * 1024,
      maxVariantsPerKey: 32,
      maxTagsPerEntry: 64,
    })
    expect(config.heuristic).toEqual({ fraction: 0.1, maxSeconds: 86_400 })
    expect(config.retainStaleSeconds).toBe(3600)
    expect(config.routes).toHaveLength(1)
    const route = config.routes[0]!
    expect(route).toMatchObject({
      pattern: '/api/**',
      bypass: false,
      staleWhileRevalidate: 0,
      staleIfError: 0,
      key: { ignoreQuery: [], headers: [] },
      tags: [],
    })
    expect(route.ttl).toBeUndefined()
    expect(route.key.allowQuery).toBeUndefined()
    expect(route.forwardHeaders).toBeUndefined()
    expect(route.matcher).toBeInstanceOf(RegExp)
    expect(route.matcher.test('/api/x')).toBe(true)
  })

  it('accepts CACHE_CONFIG as a JSON string', () => {
    const config = parseConfig(
      env({
        CACHE_CONFIG: JSON.stringify({
          cacheName: 'c1',
          routes: [{ pattern: '/a/*', ttl: 60, key: { ignoreQuery: ['utm_*'] } }],
        }),
      })
    )
    expect(config.cacheName).toBe('c1')
    expect(config.routes[0]).toMatchObject({ pattern: '/a/*', ttl: 60 })
    expect(config.routes[0]!.key.ignoreQuery).toEqual(['utm_*'])
  })

  it('parses a JSON string and an equivalent object identically', () => {
    const object = { routes: [{ pattern: '/x', tags: ['t'] }], limits: { maxKeyLength: 100 } }
    const a = parseConfig(env({ CACHE_CONFIG: object }))
    const b = parseConfig(env({ CACHE_CONFIG: JSON.stringify(object) }))
    expect({
      ...a,
      routes: a.routes.map(({ matcher, ...r }) => ({ ...r, m: matcher.source })),
    }).toEqual({ ...b, routes: b.routes.map(({ matcher, ...r }) => ({ ...r, m: matcher.source })) })
  })

  it('lower-cases header names in key headers and forwardHeaders', () => {
    const config = parseConfig(
      env({
        CACHE_CONFIG: {
          origin: { forwardHeaders: ['Accept-Encoding'] },
          routes: [
            { pattern: '/x', key: { headers: ['Accept-Language'] }, forwardHeaders: ['X-Id'] },
          ],
        },
      })
    )
    expect(config.origin.forwardHeaders).toEqual(['accept-encoding'])
    expect(config.routes[0]!.key.headers).toEqual(['accept-language'])
    expect(config.routes[0]!.forwardHeaders).toEqual(['x-id'])
  })

  it('keeps a non-empty ADMIN_TOKEN and treats an empty one as absent', () => {
    expect(parseConfig(env({ ADMIN_TOKEN: 'secret' })).adminToken).toBe('secret')
    expect(parseConfig(env({ ADMIN_TOKEN: '' })).adminToken).toBeUndefined()
  })

  it('ignores unrelated bindings in env', () => {
    expect(() => parseConfig(env({ SOME_KV: {}, OTHER: 1 }))).not.toThrow()
  })

  it('accepts an http origin with a path', () => {
    expect(parseConfig(env({ ORIGIN_URL: 'http://origin.test/v1' })).originUrl.pathname).toBe('/v1')
  })

  it('invalid JSON in CACHE_CONFIG is a ConfigError', () => {
    const error = configError(env({ CACHE_CONFIG: '{"routes": [' }))
    expect(error.message).toContain('CACHE_CONFIG')
    expect(error.message).toMatch(/JSON/)
    expect(error.name).toBe('ConfigError')
    expect(ConfigError.code).toBe('E_CONFIG')
  })

  it('a non-object JSON value is a ConfigError', () => {
    expect(() => parseConfig(env({ CACHE_CONFIG: '42' }))).toThrow(ConfigError)
    expect(() => parseConfig(env({ CACHE_CONFIG: 'null' }))).toThrow(ConfigError)
  })

  it('a non-string, non-object CACHE_CONFIG is a ConfigError naming env.CACHE_CONFIG', () => {
    expect(configError(env({ CACHE_CONFIG: 42 })).message).toContain('env.CACHE_CONFIG')
  })

  it('a missing CACHE_CONFIG names the field', () => {
    expect(configError({ ORIGIN_URL: 'https://a.example' }).message).toContain('env.CACHE_CONFIG')
  })

  it('a non-object env is a ConfigError', () => {
    expect(() => parseConfig(undefined)).toThrow(ConfigError)
    expect(() => parseConfig('x')).toThrow(ConfigError)
  })

  it('routes[0].ttl: "x" names CACHE_CONFIG.routes[0].ttl', () => {
    const error = configError(env({ CACHE_CONFIG: { routes: [{ pattern: '/a', ttl: 'x' }] } }))
    expect(error.message).toContain('CACHE_CONFIG.routes[0].ttl')
  })

  it('names the index of the bad route', () => {
    const error = configError(
      env({ CACHE_CONFIG: { routes: [{ pattern: '/a' }, { pattern: '/b', ttl: -1 }] } })
    )
    expect(error.message).toContain('CACHE_CONFIG.routes[1].ttl')
    expect(error.message).not.toContain('routes[0]')
  })

  it('a fractional ttl is rejected', () => {
    expect(
      configError(env({ CACHE_CONFIG: { routes: [{ pattern: '/a', ttl: 1.5 }] } })).message
    ).toContain('CACHE_CONFIG.routes[0].ttl')
  })

  it('reports every bad field, one per line', () => {
    const error = configError(
      env({
        CACHE_CONFIG: {
          routes: [{ pattern: '/a', ttl: 'x', staleIfError: -1 }],
          limits: { maxKeyLength: 1 },
        },
      })
    )
    expect(error.message).toContain('CACHE_CONFIG.routes[0].ttl')
    expect(error.message).toContain('CACHE_CONFIG.routes[0].staleIfError')
    expect(error.message).toContain('CACHE_CONFIG.limits.maxKeyLength')
    expect(error.message.split('\n').length).toBeGreaterThanOrEqual(4)
  })

  it('an unknown key in a route is rejected and the route is named', () => {
    const error = configError(env({ CACHE_CONFIG: { routes: [{ pattern: '/a', tll: 60 }] } }))
    expect(error.message).toContain('CACHE_CONFIG.routes[0]')
    expect(error.message).toContain('tll')
  })

  it('an unknown top-level key is rejected', () => {
    const error = configError(env({ CACHE_CONFIG: { ...MINIMAL, chaceName: 'x' } }))
    expect(error.message).toContain('CACHE_CONFIG')
    expect(error.message).toContain('chaceName')
  })

  it('an unknown key in a nested object is rejected', () => {
    const error = configError(
      env({ CACHE_CONFIG: { routes: [{ pattern: '/a', key: { ignoreQuerry: ['x'] } }] } })
    )
    expect(error.message).toContain('CACHE_CONFIG.routes[0].key')
    expect(error.message).toContain('ignoreQuerry')
  })

  it('a pattern without a leading "/" names the pattern', () => {
    const error = configError(env({ CACHE_CONFIG: { routes: [{ pattern: 'api/**' }] } }))
    expect(error.message).toContain('CACHE_CONFIG.routes[0].pattern')
  })

  it('a pattern with a query or fragment is rejected', () => {
    expect(
      configError(env({ CACHE_CONFIG: { routes: [{ pattern: '/a?b=1' }] } })).message
    ).toContain('CACHE_CONFIG.routes[0].pattern')
    expect(configError(env({ CACHE_CONFIG: { routes: [{ pattern: '/a#x' }] } })).message).toContain(
      'CACHE_CONFIG.routes[0].pattern'
    )
  })

  it('an empty routes list is rejected', () => {
    expect(configError(env({ CACHE_CONFIG: { routes: [] } })).message).toContain(
      'CACHE_CONFIG.routes'
    )
  })

  it('an invalid key header name is rejected', () => {
    expect(
      configError(
        env({ CACHE_CONFIG: { routes: [{ pattern: '/a', key: { headers: ['bad header'] } }] } })
      ).message
    ).toContain('CACHE_CONFIG.routes[0].key.headers[0]')
  })

  it('a statusName that is not an RFC 8941 token is rejected', () => {
    expect(
      configError(env({ CACHE_CONFIG: { ...MINIMAL, statusName: 'my cache' } })).message
    ).toContain('CACHE_CONFIG.statusName')
  })

  it('an out-of-range heuristic fraction is rejected', () => {
    expect(
      configError(env({ CACHE_CONFIG: { ...MINIMAL, heuristic: { fraction: 2 } } })).message
    ).toContain('CACHE_CONFIG.heuristic.fraction')
  })

  it.each(['ftp://x', 'ftp://api.example.com/'])('ORIGIN_URL %s is rejected', (url) => {
    const error = configError(env({ ORIGIN_URL: url }))
    expect(error.message).toContain('env.ORIGIN_URL')
  })

  it.each(['https://api.example.com/?a=1', 'https://api.example.com/v1?', 'https://a.example/#x'])(
    'ORIGIN_URL with a query or fragment (%s) is rejected',
    (url) => {
      expect(configError(env({ ORIGIN_URL: url })).message).toContain('env.ORIGIN_URL')
    }
  )

  it.each(['', 'api.example.com', '/relative'])('ORIGIN_URL %j is rejected', (url) => {
    expect(configError(env({ ORIGIN_URL: url })).message).toContain('env.ORIGIN_URL')
  })

  it('a missing ORIGIN_URL names it', () => {
    expect(configError({ CACHE_CONFIG: MINIMAL }).message).toContain('env.ORIGIN_URL')
  })
})

describe('loadConfig', () => {
  it('parses once per env object', () => {
    const e = env()
    const a = loadConfig(e)
    expect(loadConfig(e)).toBe(a)
    expect(loadConfig(env())).not.toBe(a)
  })

  it('throws ConfigError for a bad env and does not cache the failure', () => {
    const bad = env({ ORIGIN_URL: 'ftp://x' })
    expect(() => loadConfig(bad)).toThrow(ConfigError)
    expect(() => loadConfig(bad)).toThrow(ConfigError)
  })
})

describe('compilePattern', () => {
  it('a literal pattern matches exactly', () => {
    const re = compilePattern('/health')
    expect(re.test('/health')).toBe(true)
    expect(re.test('/health/')).toBe(false)
    expect(re.test('/healthz')).toBe(false)
    expect(re.test('/x/health')).toBe(false)
  })

  it('* matches within one segment only', () => {
    const re = compilePattern('/users/*/profile')
    expect(re.test('/users/42/profile')).toBe(true)
    expect(re.test('/users/abc-def/profile')).toBe(true)
    expect(re.test('/users/42/x/profile')).toBe(false)
    expect(re.test('/users/42/profile/more')).toBe(false)
  })

  it('* can be part of a segment', () => {
    const re = compilePattern('/files/*.json')
    expect(re.test('/files/a.json')).toBe(true)
    expect(re.test('/files/a/b.json')).toBe(false)
    expect(re.test('/files/a.jsonx')).toBe(false)
  })

  it('** matches across segments', () => {
    const re = compilePattern('/a/**/z')
    expect(re.test('/a/b/z')).toBe(true)
    expect(re.test('/a/b/c/d/z')).toBe(true)
    expect(re.test('/b/c/z')).toBe(false)
  })

  it('a trailing /** matches the bare prefix and anything below it, but not a sibling', () => {
    const re = compilePattern('/a/**')
    expect(re.test('/a')).toBe(true)
    expect(re.test('/a/')).toBe(true)
    expect(re.test('/a/b')).toBe(true)
    expect(re.test('/a/b/c')).toBe(true)
    expect(re.test('/ab')).toBe(false)
    expect(re.test('/ab/c')).toBe(false)
    expect(re.test('/b/a')).toBe(false)
  })

  it('/** matches every path', () => {
    const re = compilePattern('/**')
    for (const path of ['/', '/a', '/a/b/c']) expect(re.test(path), path).toBe(true)
  })

  it('a non-trailing ** after a partial segment matches across segments', () => {
    const re = compilePattern('/v1**')
    expect(re.test('/v1')).toBe(true)
    expect(re.test('/v1/x/y')).toBe(true)
    expect(re.test('/v2')).toBe(false)
  })

  it('regex metacharacters are literal', () => {
    const re = compilePattern('/v1.0/(items)+/[x]/{a}/$/^/|/\\')
    expect(re.test('/v1.0/(items)+/[x]/{a}/$/^/|/\\')).toBe(true)
    expect(re.test('/v1x0/(items)+/[x]/{a}/$/^/|/\\')).toBe(false)
    expect(re.test('/v1.0/itemsitems/x/a/$/^/|/\\')).toBe(false)
    expect(compilePattern('/a.b').test('/aXb')).toBe(false)
    expect(compilePattern('/a+').test('/aa')).toBe(false)
    expect(compilePattern('/a+').test('/a+')).toBe(true)
  })

  it('anchors at both ends', () => {
    const re = compilePattern('/a/*')
    expect(re.test('/x/a/b')).toBe(false)
    expect(re.test('/a/b/c')).toBe(false)
  })
})

describe('matchRoute', () => {
  const route = (pattern: string, extra: Partial<RouteConfig> = {}): RouteConfig => ({
    pattern,
    bypass: false,
    staleWhileRevalidate: 0,
    staleIfError: 0,
    freshnessJitter: 0,
    writeThrough: false,
    key: { ignoreQuery: [], headers: [] },
    tags: [],
    requestDirectives: false,
    authorization: 'bypass',
    ...extra,
  })

  const routes = compileRoutes([
    route('/products/special', { ttl: 1 }),
    route('/products/**', { ttl: 2 }),
    route('/products/*/reviews', { ttl: 3 }),
    route('/**', { bypass: true }),
  ])

  it('returns the first matching route in config order', () => {
    expect(matchRoute(routes, '/products/special')?.ttl).toBe(1)
    expect(matchRoute(routes, '/products/1')?.ttl).toBe(2)
    // /products/** comes first, so the more specific reviews route never wins.
    expect(matchRoute(routes, '/products/1/reviews')?.ttl).toBe(2)
    expect(matchRoute(routes, '/other')?.bypass).toBe(true)
  })

  it('returns undefined when nothing matches', () => {
    expect(matchRoute(compileRoutes([route('/a')]), '/b')).toBeUndefined()
    expect(matchRoute([], '/a')).toBeUndefined()
  })

  it('compileRoutes keeps the route fields and adds a matcher', () => {
    const [compiled] = compileRoutes([route('/x/*', { tags: ['t'] })])
    expect(compiled).toMatchObject({ pattern: '/x/*', tags: ['t'] })
    expect(compiled!.matcher.test('/x/y')).toBe(true)
  })
})

describe('targetedCacheControl (RFC 9213 target list)', () => {
  const withList = (targetedCacheControl: unknown) =>
    env({ CACHE_CONFIG: { ...MINIMAL, targetedCacheControl } })

  it("defaults to Cloudflare's list, most specific first", () => {
    expect(parseConfig(env()).targetedCacheControl).toEqual([
      'cloudflare-cdn-cache-control',
      'cdn-cache-control',
    ])
  })

  it('lower-cases names and allows an empty list (targeted fields off)', () => {
    expect(parseConfig(withList(['Example-Cache-Control'])).targetedCacheControl).toEqual([
      'example-cache-control',
    ])
    expect(parseConfig(withList([])).targetedCacheControl).toEqual([])
  })

  it.each([[['cache-control']], [['Surrogate-Control']], [['a-b', 'A-B']], [['bad name']]])(
    'rejects %j',
    (list) => {
      expect(configError(withList(list)).message).toContain('CACHE_CONFIG.targetedCacheControl')
    }
  )
})
