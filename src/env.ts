/** The Worker's bindings (wrangler.toml vars and secrets); validated by src/config/schema.ts. */
export interface Env {
  readonly ORIGIN_URL: string
  readonly CACHE_CONFIG: unknown
  /** Wrangler secret: bearer token of the /_cache admin API. */
  readonly ADMIN_TOKEN?: string
}
