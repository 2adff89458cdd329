import { DurableObject } from 'cloudflare:workers'
import {
  DeadlineExceeded,
  compileRoutes,
  createIsolate,
  PopularityBook,
  createTierStack,
  fetchForCache,
  keyHash,
  log,
  lookupVariant,
  parseConfig,
  storeFilled,
  variantSelectors,
  withBytes,
  withDeadline,
  type CacheTier,
  type CompiledRoute,
  type Config,
  type FillAnswer,
  type FillPolicy,
  type FillRequest,
  type FillResult,
  type Isolate,
  type TierStack,
} from '../src/coalesce'

/** Keys being filled at once in one object; past it, callers fetch for themselves. */
const MAX_IN_FLIGHT = 1024
/** Just-filled entries, for callers whose miss happened before the fill finished (bounded). */
const MAX_RECENT = 256
const RECENT_MS = 30_000
const MAX_POLICIES = 16

/** The leader's whole fill (its deadline passing is a `timeout` for every waiter, not a bug). */
const LEADER_FILL = 'coalescer fill'

interface Recent {
  readonly result: FillResult & { kind: 'entry' }
  readonly filledAt: number
  /** Its L2 write has not landed: a re-check would miss it, so anyone may have it meanwhile. */
  storing: boolean
}

/** What the leader's work gives: the result every waiter shares, and a response only the leader may have. */
interface Led {
  readonly shared: FillResult
  readonly own?: FillResult & { kind: 'response' }
}

/** A caller's policy as this object runs it: its config, route and runtime. */
interface Policy {
  readonly config: Config
  readonly route: CompiledRoute
  readonly isolate: Isolate
}

/** The home region's L2 tier, noting whether a read failed (a failure is not a clean miss). */
function l2Tiers(
  isolate: Isolate,
  home: string | undefined
): { stack: TierStack; failed: () => boolean } | undefined {
  const { l2, config } = isolate
  if (!l2 || !config.l2) return undefined
  const tier = l2.tierFor(home ?? config.l2.defaultRegion)
  let failed = false
  const watch = async <T>(read: Promise<T>): Promise<T> => {
    try {
      return await read
    } catch (error) {
      failed = true
      throw error
    }
  }
  const watched: CacheTier = {
    name: tier.name,
    get: (key) => watch(tier.get(key)),
    // Kept, so a copy found here names its region (`L2/eu-west`) in Cache-Status, as the Worker's do.
    ...(tier.lookup && { lookup: (key: string) => watch(tier.lookup!(key)) }),
    set: (key, record, expiresAt) => tier.set(key, record, expiresAt),
    delete: (key) => tier.delete(key),
  }
  return { stack: createTierStack([watched]), failed: () => failed }
}

/**
 * One shard of the key space (`<region|global>/<shard>`): at most one origin fetch per key at a time.
 * The first caller for a key leads: it re-checks L2 (another domain or a refresh may have filled it),
 * fetches the origin with the origin deadline, stores the entry in L2 (with its tags) and hands the
 * same bytes to every caller that joined meanwhile. The in-flight map is cleared in `finally` and the
 * leader's whole work has a deadline, so a failing or hanging leader leaves no stuck lock; callers
 * also bound their own wait. A response that must not be shared (private, too large) goes to the
 * leader's caller alone, streamed; the others are told to fetch for themselves. Nothing is persisted.
 */
export class Coalescer extends DurableObject<Cloudflare.Env> {
  #inFlight = new Map<string, Promise<FillResult>>()
  #recent = new Map<string, Recent>()
  /** The caller's policy over this object's bindings, one Config per distinct policy (its breaker). */
  #policies = new Map<string, Policy>()
  /** This object's own bindings, parsed once; a caller's policy goes on top. */
  #bindings: Config | undefined
  /** Request rates of this shard's keys on `adaptiveTtl` routes, by half-life (fixed memory). */
  #popularity = new PopularityBook()

  async fill(request: FillRequest): Promise<FillAnswer> {
    // Every caller's count goes in, whether it leads, follows or is answered from a recent fill.
    const perMinute = this.#countHits(request)
    const recent = this.#fromRecent(request, false)
    if (recent) return { ...recent, leader: false }
    const running = this.#inFlight.get(request.key)
    if (running) return { ...(await running), leader: false }
    if (this.#inFlight.size >= MAX_IN_FLIGHT)
      return { kind: 'uncacheable', reason: 'busy', leader: true }

    const { config, route, isolate } = this.#configFor(request.policy)
    // Origin deadline plus room for the L2 re-check and the encoding: past it the leader gives up.
    const deadline = config.origin.timeoutMs + (config.l2?.readDeadlineMs ?? 0) + 250
    const led = withDeadline(
      this.#lead(isolate, route, request, perMinute),
      deadline,
      LEADER_FILL
    ).catch((error: unknown): Led => {
      log.warn('coalescer_leader_failed', { error })
      // Origin failures come back as results; a throw is the leader's deadline or our own bug,
      // and a bug must not become the client's 5xx: every waiter then fetches for itself.
      return {
        shared:
          error instanceof DeadlineExceeded && error.operation === LEADER_FILL
            ? { kind: 'failed', reason: 'timeout' }
            : { kind: 'uncacheable', reason: 'coalescer-error' },
      }
    })
    const shared = led
      .then((result) => result.shared)
      .finally(() => {
        if (this.#inFlight.get(request.key) === shared) this.#inFlight.delete(request.key)
      })
    this.#inFlight.set(request.key, shared)
    const result = await led
    await shared
    return { ...(result.own ?? result.shared), leader: true }
  }

  /** How many keys are being filled (tests, health). */
  async inFlight(): Promise<number> {
    return this.#inFlight.size
  }

  /** A key's estimated requests per minute and the estimators' bytes (tests, health). */
  async popularity(
    primary: string,
    halfLifeSeconds: number
  ): Promise<{ perMinute: number; bytes: number }> {
    const book = this.#popularity
    return {
      perMinute: book.perMinute(keyHash(primary), halfLifeSeconds, Date.now()),
      bytes: book.bytes,
    }
  }

  /**
   * Adds the caller's requests for the key to its route's estimator and reads the key's rate;
   * undefined when the route does not adapt freshness to popularity.
   */
  #countHits(request: FillRequest): number | undefined {
    const adaptive = request.policy.route.adaptiveTtl
    if (!adaptive) return undefined
    const hash = keyHash(request.primary)
    return this.#popularity.count(hash, request.hits ?? 1, adaptive.halfLifeSeconds, Date.now())
  }

  #configFor(policy: FillPolicy): Policy {
    const id = JSON.stringify(policy)
    let found = this.#policies.get(id)
    if (!found) {
      const { route, ...settings } = policy
      this.#bindings ??= parseConfig(this.env)
      const config: Config = { ...this.#bindings, ...settings }
      // Each policy gets its own runtime (L2 clients, origin breaker), as a Worker isolate has.
      const isolate = createIsolate(config, { reportL2: false })
      found = { config, route: compileRoutes([route])[0]!, isolate }
      if (this.#policies.size >= MAX_POLICIES) this.#policies.clear()
      this.#policies.set(id, found)
    }
    return found
  }

  /**
   * A fill that finished after this caller missed is as good as one it waited on (it was concurrent
   * with the fill), and so is one whose L2 write has not landed yet. A caller that missed later (e.g.
   * after a purge) is not served from here, unless L2 could not be read (then a copy younger than
   * `memory.maxAgeMs`, the bound within which isolates honour purges made elsewhere, is served
   * rather than a second origin fetch).
   *
   * A caller that holds a copy (a refresh or a revalidation: `newerThan` is set) is answered as the L2
   * re-check answers it: by any fresh fill newer than its copy, whenever it asks. Another isolate, or a
   * colo whose tiers still hold the copy just refreshed, then gets that refresh instead of making its
   * own origin fetch for the same expiry. Its copy passed its purge view, and the fill is newer, so no
   * purge the caller knows of spares its copy yet refuses the fill (and the caller checks it anyway).
   */
  #fromRecent(request: FillRequest, l2Failed: boolean, config?: Config): FillResult | undefined {
    const recent = this.#recent.get(request.key)
    if (!recent) return undefined
    const now = Date.now()
    if (now - recent.filledAt > RECENT_MS || now >= recent.result.entry.freshUntil) {
      this.#recent.delete(request.key)
      return undefined
    }
    if (request.newerThan !== undefined)
      return recent.result.entry.storedAt > request.newerThan ? recent.result : undefined
    const concurrent =
      request.missedAt <= recent.filledAt ||
      recent.storing ||
      (l2Failed && config !== undefined && now - recent.filledAt <= config.memory.maxAgeMs)
    return concurrent ? recent.result : undefined
  }

  #remember(
    key: string,
    result: FillResult & { kind: 'entry' },
    storing: Promise<unknown> | undefined
  ): void {
    this.#recent.delete(key)
    if (this.#recent.size >= MAX_RECENT) this.#recent.delete(this.#recent.keys().next().value!)
    const recent: Recent = { result, filledAt: Date.now(), storing: storing !== undefined }
    this.#recent.set(key, recent)
    void storing?.finally(() => (recent.storing = false))
  }

  async #lead(
    isolate: Isolate,
    route: CompiledRoute,
    request: FillRequest,
    perMinute: number | undefined
  ): Promise<Led> {
    const { config } = isolate
    const headers = new Headers(request.headers as Array<[string, string]>)
    const l2 = l2Tiers(isolate, request.home)

    let existingIndex
    if (l2) {
      const found = await lookupVariant(
        l2.stack,
        request.primary,
        // The authorised partition of an `rfc9111` route, as the Worker selects it.
        variantSelectors(headers, route.authorization),
        config.limits.maxKeyLength
      )
      const entry = found.entry
      const newEnough =
        request.newerThan === undefined || (entry?.storedAt ?? 0) > request.newerThan
      if (entry && Date.now() < entry.freshUntil && newEnough) {
        const source = found.tier ?? 'L2'
        // L2 copies are in memory already (only L1 leaves a body in its tier): no read here.
        const shared = await withBytes(entry)
        return { shared: { kind: 'entry', entry: shared, source, fwdStatus: entry.status } }
      }
      existingIndex = found.index
      const recent = l2.failed() ? this.#fromRecent(request, true, config) : undefined
      if (recent) return { shared: recent }
    }

    const result = await fetchForCache({
      config,
      breaker: isolate.originBreaker,
      route,
      path: request.path,
      query: request.query,
      requestHeaders: headers,
      validators: request.validators,
      perMinute,
    })
    switch (result.kind) {
      case 'entry': {
        const { entry } = result
        let storing: Promise<unknown> | undefined
        if (l2) {
          const input = {
            config,
            route,
            primary: request.primary,
            requestHeaders: headers,
            entry,
            existingIndex,
            requestTime: entry.storedAt - entry.fetchMs,
          }
          // L2 writes have their own deadline and never fail a fill; waiters need not wait for them.
          storing = storeFilled(l2.stack, input).catch(() => {})
          this.ctx.waitUntil(storing)
        }
        this.#remember(request.key, result, storing)
        return { shared: result }
      }
      case 'response': {
        // A failing origin is not asked again by every waiter; anything else is theirs to fetch.
        const shared: FillResult =
          result.status >= 500
            ? { kind: 'failed', reason: 'status', status: result.status }
            : { kind: 'uncacheable', reason: result.reason }
        return { shared, own: result }
      }
      default:
        return { shared: result }
    }
  }
}
