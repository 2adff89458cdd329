import { DurableObject } from 'cloudflare:workers'
import { MAX_PURGE_LOG_BYTES, recordBytes, type PurgeRecord } from '../src/purge/view'

export { MAX_PURGE_LOG_BYTES } from '../src/purge/view'

/** One page of the journal: the records after a cursor, and the cursor to go on from. */
export interface JournalPage {
  readonly last: string | undefined
  readonly records: PurgeRecord[]
}

/** How long and how big the journal may grow: the Worker passes its `purge` settings. */
export interface JournalBounds {
  readonly maxEntries: number
  readonly horizonMs: number
}

const ENTRY_PREFIX = 'r:'

interface Entry {
  readonly id: string
  readonly record: PurgeRecord
  readonly bytes: number
}

/** `<ms>-<seq>`, zero-padded so that storage order (lexicographic) is id order. */
function storageKey(id: string): string {
  const [ms, seq] = id.split('-')
  return `${ENTRY_PREFIX}${ms!.padStart(15, '0')}-${seq!.padStart(6, '0')}`
}

function parseId(id: string): [number, number] | undefined {
  const match = /^(\d{1,15})-(\d{1,6})$/.exec(id)
  return match ? [Number(match[1]), Number(match[2])] : undefined
}

function after(a: [number, number], b: [number, number]): boolean {
  return a[0] > b[0] || (a[0] === b[0] && a[1] > b[1])
}

/**
 * The purge log when there is no L2: one global object holds the records every colo reads, in the
 * format and with the cursor ids (`<ms>-<seq>`) of a region's Redis stream, so the Worker's purge
 * scope reads it exactly as it reads a region's log (src/purge/journal.ts). Persisted (an eviction
 * loses nothing), bounded by records, bytes and horizon; appending a record it already holds (a
 * retry) is a no-op.
 */
export class PurgeJournal extends DurableObject {
  #entries: Entry[] = []
  readonly #ids = new Map<string, string>()
  #bytes = 0
  #lastMs = 0
  #lastSeq = 0

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env)
    void ctx.blockConcurrencyWhile(async () => {
      for (const [, entry] of await ctx.storage.list<Entry>({ prefix: ENTRY_PREFIX })) {
        this.#remember(entry)
      }
    })
  }

  #remember(entry: Entry): void {
    this.#entries.push(entry)
    this.#ids.set(entry.record.id, entry.id)
    this.#bytes += entry.bytes
    const [ms, seq] = parseId(entry.id)!
    if (ms > this.#lastMs || (ms === this.#lastMs && seq > this.#lastSeq)) {
      this.#lastMs = ms
      this.#lastSeq = seq
    }
  }

  /** Records a purge; returns its cursor id (the existing one for a record already held). */
  async append(record: PurgeRecord, bounds: JournalBounds): Promise<string> {
    const known = this.#ids.get(record.id)
    if (known !== undefined) return known
    const now = Date.now()
    if (now > this.#lastMs) {
      this.#lastMs = now
      this.#lastSeq = 0
    } else this.#lastSeq++
    const id = `${this.#lastMs}-${this.#lastSeq}`
    const entry: Entry = { id, record, bytes: recordBytes(record) }
    this.#entries.push(entry)
    this.#ids.set(record.id, id)
    this.#bytes += entry.bytes
    await this.ctx.storage.put(storageKey(id), entry)
    await this.#trim(bounds, now)
    return id
  }

  /** The records after cursor `after` (from the horizon when undefined), at most `count`. */
  async read(
    cursor: string | undefined,
    count: number,
    bounds: JournalBounds
  ): Promise<JournalPage> {
    const now = Date.now()
    const from = cursor === undefined ? undefined : parseId(cursor)
    const since = now - bounds.horizonMs
    const records: PurgeRecord[] = []
    let last = cursor
    for (const entry of this.#entries) {
      if (records.length >= count) break
      const id = parseId(entry.id)!
      if (from !== undefined ? !after(id, from) : id[0] < since) continue
      records.push(entry.record)
      last = entry.id
    }
    return { last, records }
  }

  /** Whether the journal holds purge `id` (GET /_cache/purge/:id). */
  async has(id: string): Promise<boolean> {
    return this.#ids.has(id)
  }

  async #trim(bounds: JournalBounds, now: number): Promise<void> {
    const horizon = now - bounds.horizonMs
    let drop = 0
    while (
      drop < this.#entries.length - 1 &&
      (this.#entries.length - drop > bounds.maxEntries ||
        this.#bytes > MAX_PURGE_LOG_BYTES ||
        parseId(this.#entries[drop]!.id)![0] < horizon)
    ) {
      const entry = this.#entries[drop]!
      this.#bytes -= entry.bytes
      this.#ids.delete(entry.record.id)
      drop++
    }
    if (drop === 0) return
    const dropped = this.#entries.splice(0, drop)
    // storage.delete takes at most 128 keys per call.
    for (let i = 0; i < dropped.length; i += 128) {
      await this.ctx.storage.delete(dropped.slice(i, i + 128).map((entry) => storageKey(entry.id)))
    }
  }
}
