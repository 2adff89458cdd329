import { DurableObject } from 'cloudflare:workers'
import { parseConfig, type Config } from '../src/config/load-config'
import { createRegionalL2, type RegionalL2 } from '../src/l2/regional-l2'
import { PurgeLog, type FeedPage, type LogEntry } from '../src/purge/log'

export type { FeedPage } from '../src/purge/log'

/** Stream ids compare as (ms, seq). */
function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number)
  const [bm = 0, bs = 0] = b.split('-').map(Number)
  return am - bm || as - bs
}

/** Records the feed keeps in memory at most (a page of 1000 per reader is plenty above that). */
const MAX_FEED_RECORDS = 10_000
/**
 * A record its log showed that the channel has not delivered this long after is taken as a sign the
 * subscription ended (the client does not say when a stream closes): the feed subscribes again.
 */
const CHANNEL_GRACE_MS = 2000
/**
 * A feed nobody has read for this long drops its subscription, so an idle deployment holds no
 * stream and keeps no object alive (the next read subscribes again and catches up from the log).
 */
const IDLE_UNSUBSCRIBE_MS = 60_000

interface Held {
  readonly region: string
  readonly config: Config
  readonly l2: RegionalL2
  readonly log: PurgeLog
}

/**
 * One region's purge feed, named by the region: the only reader of that region's purge log, so the
 * Upstash commands purges cost follow regions, not isolates. It subscribes to the region's purge
 * channel (server-sent events, through `@upstash/redis`), so a purge reaches it as soon as Redis
 * publishes it, and confirms what it holds with one XRANGE after the last id it read, at most once
 * per `purge.pollIntervalMs` and only while isolates read it (an idle feed costs nothing): the
 * log, not the channel, is what it vouches with, so a message lost in a gap is found there.
 * Isolates read it where they read a region's log (src/purge/log.ts), with the same cursor ids;
 * `asOf` tells them the instant it holds every record before.
 */
export class PurgeFeed extends DurableObject {
  #held: Held | undefined
  /** Records by stream id, in id order, from `#since` (exclusive) on. */
  #entries: LogEntry[] = []
  readonly #ids = new Set<string>()
  /** Reads after an id before this one are answered from the log itself (the feed began here). */
  #since: string | undefined
  /** The last id an XRANGE returned: everything up to it is held. */
  #confirmed: string | undefined
  /** Every record recorded in the region before this instant is held. */
  #asOf = 0
  #confirming: Promise<void> | undefined
  #unsubscribe: (() => Promise<void>) | undefined
  /** When the current subscription began (0: none). */
  #subscribedAt = 0
  /** Records the log showed first, by id, with when: the channel should deliver them soon. */
  readonly #unechoed = new Map<string, number>()
  #idleTimer: ReturnType<typeof setTimeout> | undefined

  #setup(region: string): Held {
    if (this.#held?.region === region) return this.#held
    const config = parseConfig(this.env)
    if (config.l2 === undefined) throw new Error('purge feed: L2 is not configured')
    const l2 = createRegionalL2(config.l2, { simulation: config.simulation })
    const log = new PurgeLog(l2, config.l2.keyPrefix, config.purge)
    this.#held = { region, config, l2, log }
    return this.#held
  }

  #add(entry: LogEntry): void {
    if (this.#ids.has(entry.id)) return
    if (this.#since !== undefined && compareIds(entry.id, this.#since) <= 0) return
    this.#ids.add(entry.id)
    let i = this.#entries.length
    while (i > 0 && compareIds(this.#entries[i - 1]!.id, entry.id) > 0) i--
    this.#entries.splice(i, 0, entry)
    if (this.#entries.length > MAX_FEED_RECORDS) {
      const dropped = this.#entries.splice(0, this.#entries.length - MAX_FEED_RECORDS)
      for (const old of dropped) this.#ids.delete(old.id)
      // Older cursors are answered from the log again.
      this.#since = dropped.at(-1)!.id
    }
  }

  #subscribe(held: Held): void {
    if (this.#unsubscribe !== undefined) return
    try {
      const subscriber = held.log.subscribe(held.region, (entry) => {
        this.#unechoed.delete(entry.id)
        this.#add(entry)
      })
      const drop = () => {
        if (this.#unsubscribe === stop) this.#unsubscribe = undefined
        void subscriber.unsubscribe().catch(() => {})
      }
      const stop = async () => drop()
      subscriber.on('error', drop)
      this.#unsubscribe = stop
      this.#subscribedAt = Date.now()
      this.#unechoed.clear()
    } catch {
      // No channel: the confirmations alone keep the feed right, a poll interval later.
    }
  }

  /** Restarts the idle clock: IDLE_UNSUBSCRIBE_MS after the last read, the feed lets go. */
  #touch(): void {
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer)
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined
      void this.#unsubscribe?.()
      this.#unsubscribe = undefined
      this.#subscribedAt = 0
      // What it holds is vouched for no more: readers start again from the log.
      this.#since = undefined
      this.#confirmed = undefined
      this.#asOf = 0
      this.#entries = []
      this.#ids.clear()
      this.#unechoed.clear()
    }, IDLE_UNSUBSCRIBE_MS)
  }

  /** The channel fell silent on records the log has: subscribe again (a closed stream says nothing). */
  #checkChannel(held: Held, now: number): void {
    for (const learned of this.#unechoed.values()) {
      if (now - learned < CHANNEL_GRACE_MS) continue
      void this.#unsubscribe?.()
      this.#unsubscribe = undefined
      this.#subscribe(held)
      return
    }
  }

  /** One XRANGE after the last confirmed id (pages until caught up); `asOf` moves to its start. */
  async #confirm(held: Held): Promise<void> {
    const started = Date.now()
    for (let page = 0; page < 100; page++) {
      const read = await held.log.readLog(held.region, held.region, this.#confirmed, 1000)
      const now = Date.now()
      for (const entry of read.entries) {
        const published = Number(entry.id.split('-')[0])
        const unseen = !this.#ids.has(entry.id)
        this.#add(entry)
        // Published while subscribed, yet the channel has not delivered it (yet).
        if (unseen && this.#subscribedAt > 0 && published >= this.#subscribedAt) {
          if (this.#unechoed.size < 1000) this.#unechoed.set(entry.id, now)
        }
      }
      this.#checkChannel(held, now)
      if (read.last !== undefined) this.#confirmed = read.last
      if (read.entries.length < 1000) break
    }
    this.#asOf = Math.max(this.#asOf, started)
  }

  /**
   * The records after `after` (at most `count`) and the instant the feed holds every record before.
   * A cursor from before the feed began (or none) is answered from the log directly, once per reader.
   * `ok: false` when the region did not answer (the reader counts the region as failing).
   */
  async read(region: string, after: string | undefined, count: number): Promise<FeedPage> {
    const held = this.#setup(region)
    this.#touch()
    try {
      if (this.#since === undefined) {
        // Subscribe first, then confirm from now: nothing published after this can be missed.
        this.#since = `${Date.now()}-0`
        this.#confirmed = this.#since
        this.#subscribe(held)
      }
      if (after === undefined || compareIds(after, this.#since) < 0) {
        const direct = await held.log.readLog(region, region, after, count)
        const records = direct.entries.map((entry) => entry.record)
        // A complete read, made after the feed began, covers everything up to `#since`: the
        // reader goes on from there, from the feed (else every read of a quiet log were direct).
        const caughtUp = direct.entries.length < count
        const last =
          caughtUp && (direct.last === undefined || compareIds(direct.last, this.#since) < 0)
            ? this.#since
            : direct.last
        return { ok: true, last, records }
      }
      if (Date.now() - this.#asOf >= held.config.purge.pollIntervalMs) {
        this.#confirming ??= this.#confirm(held).finally(() => (this.#confirming = undefined))
        await this.#confirming
      }
      let start = this.#entries.length
      while (start > 0 && compareIds(this.#entries[start - 1]!.id, after) > 0) start--
      const page = this.#entries.slice(start, start + count)
      return {
        ok: true,
        last: page.at(-1)?.id ?? after,
        records: page.map((entry) => entry.record),
        // A partial page is not caught up: only a complete one vouches.
        asOf: page.length < count ? this.#asOf : undefined,
      }
    } catch (error) {
      return { ok: false, error: String(error) }
    }
  }
}
