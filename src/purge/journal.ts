import type { JournalBounds, PurgeJournal } from '../../durable-objects/purge-journal'
import type { PurgeSettings } from '../config/schema'
import { CircuitBreaker } from '../lib/circuit-breaker'
import type { MetricsAccumulator } from '../metrics/accumulator'
import { withDeadline } from '../lib/with-deadline'
import type { RegionOutcome } from './log'
import type { PurgeLogPort, PurgeRouterPort } from './scope'
import type { PurgeRecord } from './view'

/** The PURGE_JOURNAL binding. */
export type PurgeJournalNamespace = DurableObjectNamespace<PurgeJournal>

/** The journal's name where a region's name would be: the scope reads it as a one-region log. */
export const JOURNAL_REGION = 'purge-journal'

/** One journal for the whole deployment (by name). */
export const JOURNAL_INSTANCE = 'global'

/** How long a call to the journal may take: a purge, a log read, a status. */
export const JOURNAL_DEADLINE_MS = 1000

/**
 * The purge log without L2 (durable-objects/purge-journal.ts), as the purge scope sees a region's
 * log: one pseudo-region, `purge-journal`, with the same records and cursor ids. Its breaker plays
 * the router: while it is open the journal counts as down, so memory and L1 keep serving
 * (availability first) and the purge API says the purge reached this colo only.
 */
export class JournalLog implements PurgeLogPort, PurgeRouterPort {
  readonly regions = [JOURNAL_REGION] as const
  readonly #breaker = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 5000 })
  readonly #bounds: JournalBounds

  constructor(
    private readonly namespace: PurgeJournalNamespace,
    settings: PurgeSettings,
    /** Where each call is counted (`do_requests_total`); none in a Durable Object. */
    private readonly metrics?: MetricsAccumulator
  ) {
    this.#bounds = {
      maxEntries: settings.maxLogEntries,
      horizonMs: settings.horizonSeconds * 1000,
    }
  }

  async #call<T>(what: string, run: (journal: DurableObjectStub<PurgeJournal>) => Promise<T>) {
    try {
      const stub = this.namespace.get(this.namespace.idFromName(JOURNAL_INSTANCE))
      this.metrics?.increment('do_requests_total', { class: 'PurgeJournal' })
      const result = await withDeadline(run(stub), JOURNAL_DEADLINE_MS, `purge journal ${what}`)
      this.#breaker.success()
      return result
    } catch (error) {
      this.#breaker.failure(Date.now())
      throw error
    }
  }

  async publish(
    _home: string,
    record: PurgeRecord
  ): Promise<{ outcomes: RegionOutcome[]; pending: Promise<unknown> }> {
    try {
      await this.#call('append', (journal) => journal.append(record, this.#bounds))
      return { outcomes: [{ region: JOURNAL_REGION, ok: true }], pending: Promise.resolve() }
    } catch (error) {
      return {
        outcomes: [{ region: JOURNAL_REGION, ok: false, error: String(error) }],
        pending: Promise.resolve(),
      }
    }
  }

  async read(
    _home: string,
    _region: string,
    after: string | undefined,
    count = 1000
  ): Promise<{ last: string | undefined; records: PurgeRecord[] }> {
    return this.#call('read', (journal) => journal.read(after, count, this.#bounds))
  }

  /** A record this colo made while the journal was unreachable, appended once it answers. */
  async replay(_home: string, _region: string, record: PurgeRecord): Promise<void> {
    await this.#call('append', (journal) => journal.append(record, this.#bounds))
  }

  async status(_home: string, id: string): Promise<Record<string, boolean | undefined>> {
    try {
      return { [JOURNAL_REGION]: await this.#call('status', (journal) => journal.has(id)) }
    } catch {
      return { [JOURNAL_REGION]: undefined }
    }
  }

  readOrder(_home: string, now: number): string[] {
    return this.#breaker.available(now) ? [JOURNAL_REGION] : []
  }

  allDown(now: number): boolean {
    return !this.#breaker.available(now)
  }
}
