import type { ProxyContext } from './proxy/context'
import type { Env } from './env'

/** Hono generics for the app: bindings and the per-request proxy context and the parsed request URL. */
export interface AppEnv {
  Bindings: Env
  Variables: { proxy: ProxyContext; url: URL }
}
