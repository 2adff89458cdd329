import type { Coalescer } from '../durable-objects/coalescer'
import type { RateLimiter } from '../durable-objects/rate-limiter'
import type { Stats } from '../durable-objects/stats'

/** The Worker's bindings (wrangler.toml vars and secrets); validated by src/config/schema.ts. */
export interface Env {
  readonly ORIGIN_URL: string
  readonly CACHE_CONFIG: unknown
  /** Wrangler secret: bearer token of the /_cache admin API. */
  readonly ADMIN_TOKEN?: string
  /** One Durable Object per (rate-limit rule, identity). */
  readonly RATE_LIMITER?: DurableObjectNamespace<RateLimiter>
  /** Stampede protection: one Durable Object per key shard (per region or global). */
  readonly COALESCER?: DurableObjectNamespace<Coalescer>
  /** One global Durable Object summing every isolate's metrics. */
  readonly STATS?: DurableObjectNamespace<Stats>
  /** Wrangler secret (optional): a read-only token for /_cache/metrics and /_cache/stats. */
  readonly METRICS_TOKEN?: string
}

type WorkerEnv = Env

// `import { env } from 'cloudflare:workers'` (start-up validation, tests) sees the same bindings.
declare global {
  // Declaration merging with the runtime types requires the namespace form.
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Cloudflare {
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type
    interface Env extends WorkerEnv {}
  }
}
