import type { CacheEntry, StoredRecord } from '../cache/entry'

/**
 * One purge as the log carries it: what it matches and when it was accepted (epoch ms). Keys are cache
 * keys (a URL purge carries its primary key: it also matches every variant `primary\n…`), tags match
 * an entry's tags, prefixes match the start of a key.
 */
export interface PurgeRecord {
  readonly id: string
  readonly at: number
  readonly keys: readonly string[]
  readonly tags: readonly string[]
  readonly prefixes: readonly string[]
  /** Mark stale (freshness and stale-while-revalidate end at `at`) instead of removing. */
  readonly soft: boolean
}

/** When a copy was made, for purge purposes: when its origin fetch started, so in-flight fills are voided. */
export function copyStamp(record: StoredRecord): number {
  return record.kind === 'response' ? record.storedAt - record.fetchMs : record.createdAt
}

/** A soft-purged entry: still there for stale-if-error (and revalidation), no longer fresh. */
export function softened(entry: CacheEntry, at: number): CacheEntry {
  return {
    ...entry,
    freshUntil: Math.min(entry.freshUntil, at),
    staleWhileRevalidateUntil: Math.min(entry.staleWhileRevalidateUntil, at),
  }
}

interface Times {
  hard: number
  soft: number
}

/**
 * Bytes of purge records (as JSON) a log holds at most, whatever its record cap: a region's log,
 * the purge journal and every view. 8 MiB is ~50,000 single-key purges or a few dozen of the largest
 * the API accepts.
 */
export const MAX_PURGE_LOG_BYTES = 8 * 1024 * 1024

/** A record's size as the bound counts it: its JSON length. */
export function recordBytes(record: PurgeRecord): number {
  return JSON.stringify(record).length
}

export interface PurgeViewOptions {
  /** Most records held; past it the oldest half is dropped and the floor rises. */
  readonly maxRecords: number
  /** Most bytes of records held (default MAX_PURGE_LOG_BYTES); past it, as past maxRecords. */
  readonly maxBytes?: number
  /** Records older than this are dropped (the floor follows). */
  readonly horizonMs: number
}

/** The verdict on a copy: served as is, served softened, or refused. */
export type Verdict = StoredRecord | undefined

/**
 * An isolate's recent purges: keys, tags and prefixes with the latest hard and soft purge times,
 * so checking a copy costs a few Map lookups. Below `floor` the view knows nothing (it was created,
 * or forgot older records): copies from the near tiers made before it are refused.
 */
export class PurgeView {
  #records: PurgeRecord[] = []
  #bytes = 0
  readonly #ids = new Set<string>()
  #keys = new Map<string, Times>()
  #tags = new Map<string, Times>()
  #prefixes = new Map<string, Times>()
  /** The distinct prefix lengths, ascending: a check costs one lookup per length, not per prefix. */
  #prefixLengths: number[] = []
  /** Copies stamped before this are unknown to the view. */
  floor: number
  /**
   * The view holds every purge made before this, as far as the logs it read vouch for (PurgeScope
   * sets it; its age is compared with the bound). Not merely the last log heard from: a log that
   * missed purges (its region was cut off) vouches for nothing until the others were read after it.
   */
  freshAt = 0

  constructor(
    private readonly options: PurgeViewOptions,
    now = Date.now()
  ) {
    this.floor = now - options.horizonMs
  }

  get size(): number {
    return this.#records.length
  }

  has(id: string): boolean {
    return this.#ids.has(id)
  }

  /** Adds a record (once per id); returns false when it was already known. */
  add(record: PurgeRecord, now = Date.now()): boolean {
    if (this.#ids.has(record.id)) return false
    this.#ids.add(record.id)
    this.#records.push(record)
    this.#bytes += recordBytes(record)
    this.#index(record)
    if (
      this.#records.length > this.options.maxRecords ||
      this.#bytes > this.#maxBytes ||
      record.at < now - this.options.horizonMs
    )
      this.#trim(now)
    return true
  }

  #index(record: PurgeRecord): void {
    const note = (map: Map<string, Times>, name: string) => {
      let times = map.get(name)
      if (times === undefined) map.set(name, (times = { hard: 0, soft: 0 }))
      if (record.soft) times.soft = Math.max(times.soft, record.at)
      else times.hard = Math.max(times.hard, record.at)
    }
    for (const key of record.keys) note(this.#keys, key)
    for (const tag of record.tags) note(this.#tags, tag)
    for (const prefix of record.prefixes) {
      note(this.#prefixes, prefix)
      if (!this.#prefixLengths.includes(prefix.length)) {
        this.#prefixLengths.push(prefix.length)
        this.#prefixLengths.sort((a, b) => a - b)
      }
    }
  }

  /** Calls `take` with the purge times of every purged prefix of `key`. */
  #prefixesOf(key: string, take: (times: Times | undefined) => void): void {
    for (const length of this.#prefixLengths) {
      if (length > key.length) break
      take(this.#prefixes.get(key.slice(0, length)))
    }
  }

  get #maxBytes(): number {
    return this.options.maxBytes ?? MAX_PURGE_LOG_BYTES
  }

  /**
   * Drops records past the horizon, then, while over the record or byte cap, the oldest until half
   * of it is left; the floor rises past them.
   */
  #trim(now: number): void {
    const horizon = now - this.options.horizonMs
    const sorted = this.#records.sort((a, b) => a.at - b.at)
    const sizes = sorted.map(recordBytes)
    let bytes = sizes.reduce((sum, size) => sum + size, 0)
    let drop = 0
    const dropOne = () => (bytes -= sizes[drop++]!)
    while (drop < sorted.length && sorted[drop]!.at < horizon) dropOne()
    if (sorted.length - drop > this.options.maxRecords || bytes > this.#maxBytes) {
      const keep = Math.floor(this.options.maxRecords / 2)
      while (drop < sorted.length && (sorted.length - drop > keep || bytes > this.#maxBytes / 2))
        dropOne()
    }
    if (drop === 0) return
    this.floor = Math.max(this.floor, horizon, sorted[drop - 1]!.at + 1)
    this.#records = sorted.slice(drop)
    this.#bytes = bytes
    this.#ids.clear()
    this.#keys = new Map()
    this.#tags = new Map()
    this.#prefixes = new Map()
    this.#prefixLengths = []
    for (const record of this.#records) {
      this.#ids.add(record.id)
      this.#index(record)
    }
  }

  /**
   * The copy of `record` at `key` as the view allows it: the record itself, a softened entry, or
   * undefined when a purge made after it matches (or, for a near tier, when it predates the floor).
   */
  check(key: string, record: StoredRecord, near: boolean): Verdict {
    const stamp = copyStamp(record)
    if (near && stamp < this.floor) return undefined
    let hard = 0
    let soft = 0
    const take = (times: Times | undefined) => {
      if (times === undefined) return
      if (times.hard > hard) hard = times.hard
      if (times.soft > soft) soft = times.soft
    }
    take(this.#keys.get(key))
    const newline = key.indexOf('\n')
    // A variant is purged with its URL (its primary key).
    if (newline >= 0) take(this.#keys.get(key.slice(0, newline)))
    if (record.kind === 'response') for (const tag of record.tags) take(this.#tags.get(tag))
    this.#prefixesOf(key, take)
    if (stamp < hard) return undefined
    if (stamp < soft && record.kind === 'response') {
      const cut = softened(record, soft)
      return cut.freshUntil === record.freshUntil &&
        cut.staleWhileRevalidateUntil === record.staleWhileRevalidateUntil
        ? record
        : cut
    }
    return record
  }

  /**
   * The latest hard purge that matches `key` by key or prefix (0: none): a fill or a cached result
   * made before it must not be served (the coalescer's recent results, for one).
   */
  purgedAt(key: string): number {
    let at = this.#keys.get(key)?.hard ?? 0
    const newline = key.indexOf('\n')
    if (newline >= 0) at = Math.max(at, this.#keys.get(key.slice(0, newline))?.hard ?? 0)
    this.#prefixesOf(key, (times) => {
      if (times !== undefined) at = Math.max(at, times.hard)
    })
    return at
  }

  /** The records held, oldest first after a trim (catch-up replays them into lagging regions). */
  records(): readonly PurgeRecord[] {
    return this.#records
  }
}
