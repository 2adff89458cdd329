import type { L2Config } from '../config/load-config'

/** The simulated client region (local stack only; ignored unless config.simulation is on). */
export const SIMULATED_REGION_HEADER = 'x-sim-region'
/** The simulated client colo, mapped like `request.cf.colo` (only colos named in `l2.locations.colos`). */
export const SIMULATED_COLO_HEADER = 'x-sim-colo'

export interface ClientLocation {
  /** The L2 region nearest the client: reads start there, fills go there. */
  readonly home: string
  /**
   * Set when the location is simulated: every simulated colo gets its own L1 and memory tier, as
   * the colos of different regions would.
   */
  readonly simulatedColo: string | undefined
}

interface CfLocation {
  readonly colo?: unknown
  readonly continent?: unknown
}

/**
 * The region a location maps to: own keys only, so `constructor`, `__proto__` or `toString` (from a
 * header, in the simulation) are unmapped rather than Object.prototype's members.
 */
function own(map: Readonly<Partial<Record<string, string>>>, key: string): string | undefined {
  return Object.hasOwn(map, key) ? map[key] : undefined
}

/**
 * Where the client is, as an L2 home region. On Cloudflare `request.cf` names the colo and continent,
 * mapped by `l2.locations`; in the local simulation a header names the colo (mapped the same way,
 * with an L1 of its own) or the region directly.
 */
export function clientLocation(
  request: Request,
  l2: L2Config,
  simulation: boolean
): ClientLocation {
  if (simulation) {
    // Both are bounded by config: a colo must be mapped, a region configured.
    const colo = request.headers.get(SIMULATED_COLO_HEADER)
    const coloRegion = colo === null ? undefined : own(l2.locations.colos, colo)
    if (coloRegion !== undefined) return { home: coloRegion, simulatedColo: colo! }
    const claimed = request.headers.get(SIMULATED_REGION_HEADER)
    if (claimed !== null && l2.regions.some((region) => region.name === claimed)) {
      return { home: claimed, simulatedColo: claimed }
    }
  }
  const cf = request.cf as CfLocation | undefined
  const colo = typeof cf?.colo === 'string' ? own(l2.locations.colos, cf.colo) : undefined
  const continent =
    typeof cf?.continent === 'string' ? own(l2.locations.continents, cf.continent) : undefined
  return { home: colo ?? continent ?? l2.defaultRegion, simulatedColo: undefined }
}

/**
 * The simulated colo without L2 (local stack only): any IATA-like code in the colo header, so the
 * purge journal can be seen reaching a second colo. Bounded by the isolate's colo cap.
 */
export function simulatedColoWithoutL2(request: Request, simulation: boolean): string | undefined {
  if (!simulation) return undefined
  const colo = request.headers.get(SIMULATED_COLO_HEADER)
  return colo !== null && /^[A-Z]{3}$/.test(colo) ? colo : undefined
}
