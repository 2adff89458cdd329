/**
 * The Worker's bindings. `npm run types` generates them into src/worker-configuration.d.ts (as
 * `Cloudflare.Env`) from wrangler.toml (vars, Durable Objects) and .dev.vars.example (secrets);
 * CI fails when that file is stale (`npm run types:check`). Values are validated at start-up by
 * src/config/schema.ts, not trusted from this type.
 *
 * The generated type says every secret is a string; these may be unset (each turns a feature off),
 * so the code sees them as optional. `Pick` fails to compile if one is no longer generated.
 */
type OptionalSecret = 'ADMIN_TOKEN' | 'METRICS_TOKEN' | 'L2_REGIONS' | 'SIMULATION'

export type Env = Omit<Cloudflare.Env, OptionalSecret> &
  Partial<Pick<Cloudflare.Env, OptionalSecret>>
