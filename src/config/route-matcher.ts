import type { RouteConfig } from './schema'

export interface CompiledRoute extends RouteConfig {
  readonly matcher: RegExp
}

/**
 * Compiles a path glob: `*` matches within one segment, `**` any run of segments. A trailing `/**` also
 * matches the bare prefix, so `/products/**` covers `/products` and `/products/1/reviews`.
 */
export function compilePattern(pattern: string): RegExp {
  let source = ''
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!
    if (ch === '*') {
      if (pattern[i + 1] === '*') {
        i++
        const trailing = i === pattern.length - 1 && source.endsWith('/')
        source = trailing ? `${source.slice(0, -1)}(?:/.*)?` : `${source}.*`
      } else {
        source += '[^/]*'
      }
    } else {
      source += ch.replace(/[.+?^${}()|[\]\\]/g, '\\$&')
    }
  }
  return new RegExp(`^${source}$`)
}

export function compileRoutes(routes: readonly RouteConfig[]): CompiledRoute[] {
  return routes.map((route) => ({ ...route, matcher: compilePattern(route.pattern) }))
}

/** First route whose pattern matches the path, in config order. */
export function matchRoute(
  routes: readonly CompiledRoute[],
  path: string
): CompiledRoute | undefined {
  for (const route of routes) if (route.matcher.test(path)) return route
  return undefined
}
