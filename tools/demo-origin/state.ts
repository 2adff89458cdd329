import { Catalogue } from './catalogue'

export type FailMode = { mode: 'off' } | { mode: 'error'; status: number } | { mode: 'hang' }

export interface OriginStats {
  /** Every request outside `/__origin/*`, including failed, hung and 304 answers. */
  fetches: number
  byPath: Record<string, number>
  byMethod: Record<string, number>
  /** 304 responses sent. */
  notModified: number
  latencyMs: number
  failing: FailMode['mode']
  failStatus?: number
  /** Requests currently held by the "hang" fail mode. */
  hanging: number
}

/** A hung request is released with this status when the mode changes or after HANG_MAX_MS. */
export const HANG_RELEASE_STATUS = 503
export const HANG_MAX_MS = 60_000

/**
 * Everything the demo origin counts and can be told to do. Tests in the same process may read
 * the counters directly instead of calling `GET /__origin/stats`.
 */
export class DemoOriginState {
  readonly catalogue = new Catalogue()
  fetches = 0
  byPath: Record<string, number> = {}
  byMethod: Record<string, number> = {}
  notModified = 0
  latencyMs: number
  fail: FailMode = { mode: 'off' }
  readonly #initialLatencyMs: number
  readonly #hung = new Set<() => void>()

  constructor(latencyMs: number) {
    this.latencyMs = latencyMs
    this.#initialLatencyMs = latencyMs
  }

  count(method: string, path: string): number {
    this.fetches++
    this.byPath[path] = (this.byPath[path] ?? 0) + 1
    this.byMethod[method] = (this.byMethod[method] ?? 0) + 1
    return this.fetches
  }

  stats(): OriginStats {
    return {
      fetches: this.fetches,
      byPath: { ...this.byPath },
      byMethod: { ...this.byMethod },
      notModified: this.notModified,
      latencyMs: this.latencyMs,
      failing: this.fail.mode,
      ...(this.fail.mode === 'error' ? { failStatus: this.fail.status } : {}),
      hanging: this.#hung.size,
    }
  }

  setFail(fail: FailMode): void {
    this.fail = fail
    if (fail.mode !== 'hang') this.releaseHung()
  }

  setLatency(ms: number): void {
    this.latencyMs = ms
  }

  /** Counters, catalogue, fail mode and latency (back to the value the origin was created with). */
  reset(): void {
    this.fetches = 0
    this.byPath = {}
    this.byMethod = {}
    this.notModified = 0
    this.latencyMs = this.#initialLatencyMs
    this.catalogue.reset()
    this.setFail({ mode: 'off' })
  }

  /** Resolves when the hang is over: mode switched, `releaseHung()` called, or HANG_MAX_MS passed. */
  hang(): Promise<void> {
    return new Promise((resolve) => {
      const release = () => {
        clearTimeout(timer)
        this.#hung.delete(release)
        resolve()
      }
      const timer = setTimeout(release, HANG_MAX_MS)
      this.#hung.add(release)
    })
  }

  /** Lets every hung request finish (with a 503); also call it before closing a server. */
  releaseHung(): void {
    for (const release of [...this.#hung]) release()
  }
}
