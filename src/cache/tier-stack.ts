import { retainUntil, storedRecord, type ReadRecord, type StoredRecord } from './entry'
import { log } from '../lib/log'
import type { CacheTier } from './tier'
import { sleep } from '../lib/sleep'

export interface TierHit {
  /** Its body may still be in the tier (an L1 hit): withBytes reads it when bytes are needed. */
  readonly record: ReadRecord
  /** The name of the tier that had it (`memory`, `L1`, ...). */
  readonly tier: string
}

export interface TierHealth {
  readonly tier: string
  readonly ok: boolean
  readonly latencyMs: number
  readonly error?: string
}

/**
 * Tiers read nearest first, written and deleted everywhere. A record found in a farther tier is copied
 * into the nearer ones; a nearer tier caps how long it keeps it (the memory tier: its max age).
 * A tier that fails degrades to a miss on reads and to a skipped copy on writes: a broken cache
 * must never fail the request it could not speed up. Deletes report failure (a purge must know).
 */
export interface TierStack extends CacheTier {
  /** The nearest copy, its body maybe left in its tier (a client's read); `get` reads it into memory. */
  read(key: string): Promise<TierHit | undefined>
  /** Reads `key` from every tier directly (failures included), for health checks. */
  probe(key: string): Promise<TierHealth[]>
}

/**
 * What the purge view (src/purge/) asks of reads: the first `near` tiers (memory, L1) only answer
 * while `trustNear()` (the view is within its bound), and every copy found passes `check`, which
 * returns it, a softened copy, or undefined when a purge made after it matches (a refused near copy
 * is deleted from its tier). It judges the head only (times, tags): a softened copy keeps the body
 * as it is, whether in memory or still in its tier.
 */
export interface ReadGuard {
  readonly near: number
  trustNear(): boolean
  check(key: string, record: ReadRecord, near: boolean): ReadRecord | undefined
  /**
   * While the near tiers are not trusted, the view is catching up (this request's poll): a far copy
   * waits for that (within a deadline) before `check`, so a region that missed a purge while nobody
   * was looking cannot hand its old copy to the first request after the quiet spell.
   */
  settle?(): Promise<void>
  /** Whether the view is within its bound now (after `settle`), without counting a stale read. */
  caughtUp?(): boolean
}

/** What the read-ahead asks of a tier's recent lookups (MissRatio). */
export interface ReadAheadHint {
  record(hit: boolean): void
  likelyMiss(): boolean
}

export interface TierStackOptions {
  /**
   * Where copies into nearer tiers go: awaited when omitted; given `waitUntil`, a hit from a far tier
   * is answered at once and copied in the background.
   */
  readonly defer?: (work: Promise<unknown>) => void
  /** As in storeVariant: how long a copy made from a far hit keeps a stale, revalidatable entry. */
  readonly retainStaleMs?: number
  readonly guard?: ReadGuard
  /**
   * Reads the tier after `tiers[index]` together with it while `hint.likelyMiss()` (that tier mostly
   * misses lately): a miss then waits for the slower of the two, not their sum. The farther answer is
   * used only if the nearer tier misses (or its copy is refused); otherwise it is dropped, one read
   * spent for nothing, hence the hint. Every lookup of `tiers[index]` is recorded in the hint.
   */
  readonly readAhead?: {
    readonly index: number
    readonly hint: ReadAheadHint
    /** Each read ahead, once known: `used` (the nearer tier missed) or `wasted` (it answered). */
    spent?(outcome: 'used' | 'wasted'): void
  }
}

/** Until when a copy of `record` may be kept. */
function keepUntil(record: ReadRecord, retainStaleMs: number): number {
  return record.kind === 'response' ? retainUntil(record, retainStaleMs) : record.expiresAt
}

export function createTierStack(
  tiers: readonly CacheTier[],
  options: TierStackOptions = {}
): TierStack {
  const name = tiers.map((tier) => tier.name).join('+')
  const { defer, retainStaleMs = 0, guard, readAhead } = options
  const aheadAt =
    readAhead !== undefined && readAhead.index + 1 < tiers.length ? readAhead.index : -1
  return {
    name,
    async read(key) {
      // A purge view older than its bound makes the near tiers unknown: the read starts further out.
      const untrusted = guard !== undefined && !guard.trustNear()
      // With tiers beyond the near ones, those; else (the purge journal, no L2) the near ones, once
      // the view has caught up.
      const first = untrusted && guard.near < tiers.length ? guard.near : 0
      // This request's own read of the tier after `aheadAt`, started with it (never shared).
      let ahead: Promise<TierHit | undefined> | undefined
      for (let i = first; i < tiers.length; i++) {
        const tier = tiers[i]!
        const started = i === aheadAt + 1 ? ahead : undefined
        if (i === aheadAt && readAhead!.hint.likelyMiss()) {
          ahead = lookupIn(tiers[i + 1]!, key)
          // Awaited if this tier misses; else dropped (a failure is logged by the tier itself).
          ahead.catch(() => {})
        }
        if (started !== undefined) readAhead!.spent?.('used')
        let hit: TierHit | undefined
        try {
          hit = await (started ?? lookupIn(tier, key))
        } catch (error) {
          log.warn('tier_failure', { tier: tier.name, operation: 'get', error })
          if (i === aheadAt) readAhead!.hint.record(false)
          continue
        }
        if (i === aheadAt) {
          readAhead!.hint.record(hit !== undefined)
          // Answered here (unless its copy is refused below): the read ahead goes on in the
          // background, its answer unused; cut short, its call would count against its region.
          if (hit !== undefined && ahead !== undefined && defer) defer(ahead.catch(() => undefined))
        }
        if (hit === undefined) continue
        if (guard) {
          const near = i < guard.near
          if (untrusted) {
            await guard.settle?.()
            // Still behind (its log unreachable, yet not down): a near copy is unknown, a miss.
            if (near && !(guard.caughtUp ? guard.caughtUp() : guard.trustNear())) continue
          }
          const allowed = guard.check(key, hit.record, near)
          if (allowed === undefined) {
            if (near) {
              const dropping = tier.delete(key).catch(() => false)
              if (defer) defer(dropping)
              else await dropping
            }
            continue
          }
          if (allowed !== hit.record) hit = { record: allowed, tier: hit.tier }
        }
        if (i > 0) {
          const copies = copyNearer(tiers.slice(0, i), tier.name, key, hit.record, retainStaleMs)
          if (defer) defer(copies)
          else await copies
        }
        if (i === aheadAt && ahead !== undefined) readAhead!.spent?.('wasted')
        return hit
      }
      return undefined
    },
    async get(key) {
      const hit = await this.read(key)
      return hit && storedRecord(hit.record)
    },
    async probe(key) {
      return Promise.all(
        tiers.map(async (tier): Promise<TierHealth> => {
          const started = Date.now()
          try {
            await tier.get(key)
            return { tier: tier.name, ok: true, latencyMs: Date.now() - started }
          } catch (error) {
            return {
              tier: tier.name,
              ok: false,
              latencyMs: Date.now() - started,
              error: String(error),
            }
          }
        })
      )
    },
    async set(key, record, expiresAt) {
      await Promise.all(tiers.map((tier) => setQuietly(tier, key, record, expiresAt)))
    },
    async delete(key) {
      const deleted = await Promise.all(tiers.map((tier) => tier.delete(key)))
      return deleted.some(Boolean)
    },
  }
}

/** One tier's copy of `key`, its body maybe left in the tier (`lookup`); throws when the tier fails. */
async function lookupIn(tier: CacheTier, key: string): Promise<TierHit | undefined> {
  if (tier.lookup) return tier.lookup(key)
  const record = await tier.get(key)
  return record === undefined ? undefined : { record, tier: tier.name }
}

/**
 * Copies a far hit into the nearer tiers. A body still in its tier is read into memory first: the read
 * starts now, before the hit is served, so the response then gets these bytes rather than a stream
 * this read would race (on the first hit of a key in an isolate; the memory tier serves the rest).
 */
function copyNearer(
  nearer: readonly CacheTier[],
  from: string,
  key: string,
  record: ReadRecord,
  retainStaleMs: number
): Promise<void> {
  const until = keepUntil(record, retainStaleMs)
  return Promise.resolve(storedRecord(record)).then(
    async (stored) => {
      await Promise.all(
        nearer.map(async (tier) => {
          if (tier.copyDelayMs) await sleep(tier.copyDelayMs)
          await setQuietly(tier, key, stored, until)
        })
      )
    },
    (error: unknown) => log.warn('tier_failure', { tier: from, operation: 'get', error })
  )
}

async function setQuietly(
  tier: CacheTier,
  key: string,
  record: StoredRecord,
  expiresAt: number
): Promise<void> {
  try {
    await tier.set(key, record, expiresAt)
  } catch (error) {
    log.warn('tier_failure', { tier: tier.name, operation: 'set', error })
  }
}
