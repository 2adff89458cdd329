import type { RequestContext } from './runtime/request-context'
import type { Env } from './env'
import type { RequestPath } from './http/request-path'

/**
 * Hono generics for the app: bindings, the per-request proxy context, the parsed request URL and its
 * normalised path (the one routes, rules, the key and the origin request use).
 */
export interface AppEnv {
  Bindings: Env
  Variables: { proxy: RequestContext; url: URL; path: RequestPath }
}
