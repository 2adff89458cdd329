/**
 * The cost scenario's workloads (../scenarios/cost.ts): each a set-up outside the measured window
 * and a run that says how many requests it made and what it saw.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { requestPurge } from '../../tools/lib/purge-request'
import type { BenchContext } from './types'

const CACHED = `h-cache-control=${encodeURIComponent('public, max-age=3600')}`
const COLOS = ['IAD', 'EWR', 'LHR', 'CDG', 'BOM', 'SIN'] as const
const EU_COLOS = ['LHR', 'CDG', 'FRA'] as const
const CONCURRENCY = 10
const HIT_REQUESTS = 2000
const L2_REQUESTS = 2000
/** One request in this many reads a key that misses L1 but is in L2. */
const L2_EVERY = 10
const STAMPEDE_ROUNDS = 2
const STAMPEDE_SIZE = 500
const PURGE_READS = 1000
const READS_PER_PURGE = 50
const PURGE_KEYS = 10

interface Answer {
  status: number
  cacheStatus: string
}

async function get(url: string, colo: string): Promise<Answer> {
  const response = await fetch(url, { headers: { 'x-sim-colo': colo } })
  await response.arrayBuffer()
  return { status: response.status, cacheStatus: response.headers.get('cache-status') ?? '' }
}

const isHit = (answer: Answer) => /;\s*hit\b/.test(answer.cacheStatus)

/** Runs `jobs` on CONCURRENCY closed-loop workers, in order. */
async function pool<T>(jobs: readonly T[], run: (job: T, i: number) => Promise<void>) {
  let next = 0
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < jobs.length) {
        const i = next++
        await run(jobs[i]!, i)
      }
    })
  )
}

export interface Outcome {
  requests: number
  /** What the workload saw (hits, L2 hits, misses), for the notes. */
  saw: string
  problems: string[]
  /** Admin requests (purges): each also makes 2 RateLimiter calls the Worker does not count. */
  adminRequests?: number
}

export interface Workload {
  name: string
  /** Set-up outside the measured window (priming, fills). */
  prepare?: () => Promise<void>
  run: () => Promise<Outcome>
}

/**
 * The workloads against the Worker at `workerUrl`; `l2Entries(pattern)` counts the entries eu-west's
 * L2 holds under a key pattern (the fills are background writes: the L2 mix waits for them).
 */
export function costWorkloads(
  ctx: BenchContext,
  workerUrl: string,
  l2Entries: (pattern: string) => Promise<number>
): Workload[] {
  const hitPath = `/echo/cost-hit?${CACHED}`
  const hotEu = `/echo/cost-l2-hot?${CACHED}`
  const l2Paths = Array.from(
    { length: L2_REQUESTS / L2_EVERY },
    (_, i) => `/echo/cost-l2-${i}?${CACHED}`
  )
  const purgePath = (k: number) => `/echo/cost-purge-${k}?${CACHED}&h-surrogate-key=cost-purge-${k}`
  const purge = async (tag: string) => {
    const response = await requestPurge(workerUrl, ctx.adminToken, { tags: [tag] })
    await response.arrayBuffer()
    return response.status
  }
  const prime = async (path: string, colos: readonly string[]) => {
    for (const colo of colos) {
      for (let attempt = 0; attempt < 10 && !isHit(await get(workerUrl + path, colo)); attempt++)
        await sleep(100)
    }
  }

  return [
    {
      name: 'all hits (memory/L1), six colos',
      prepare: () => prime(hitPath, COLOS),
      async run() {
        let hits = 0
        await pool(Array.from({ length: HIT_REQUESTS }), async (_, i) => {
          if (isHit(await get(workerUrl + hitPath, COLOS[i % COLOS.length]!))) hits++
        })
        const problems =
          hits < HIT_REQUESTS ? [`all hits: ${HIT_REQUESTS - hits} requests were not hits`] : []
        return { requests: HIT_REQUESTS, saw: `${hits} hits`, problems }
      },
    },
    {
      name: `90 % hits, 10 % L1 miss + L2 hit (eu-west)`,
      async prepare() {
        await prime(hotEu, EU_COLOS)
        // Filled by LHR (its memory, L1 and eu-west's L2); read below at CDG and FRA.
        await pool(l2Paths, async (path) => void (await get(workerUrl + path, 'LHR')))
        // Fills reach L2 in the background: wait until eu-west holds every one.
        for (let waited = 0; waited < 10_000; waited += 250) {
          if ((await l2Entries('ec:e:/echo/cost-l2-[0-9]*')) >= l2Paths.length) break
          await sleep(250)
        }
      },
      async run() {
        let hits = 0
        let l2Hits = 0
        const others: string[] = []
        await pool(Array.from({ length: L2_REQUESTS }), async (_, i) => {
          if (i % L2_EVERY === 0) {
            const colo = EU_COLOS[1 + ((i / L2_EVERY) % 2)]!
            const answer = await get(workerUrl + l2Paths[i / L2_EVERY]!, colo)
            if (/detail=L2\//.test(answer.cacheStatus)) l2Hits++
            else others.push(answer.cacheStatus)
          } else if (isHit(await get(workerUrl + hotEu, EU_COLOS[i % EU_COLOS.length]!))) hits++
        })
        // Not a failure here (the l2 scenario checks L2 hits): the counts stay as they were.
        const notL2 = others.length ? ` (${others.length} not L2 hits: "${others[0]}"…)` : ''
        return {
          requests: L2_REQUESTS,
          saw: `${hits} hits, ${l2Hits} L2 hits${notL2}`,
          problems: [],
        }
      },
    },
    {
      name: `stampede: ${STAMPEDE_ROUNDS} × ${STAMPEDE_SIZE} concurrent cold requests, one key each, six colos`,
      async run() {
        ctx.origin.state.setLatency(200)
        let notHits = 0
        try {
          for (let round = 0; round < STAMPEDE_ROUNDS; round++) {
            const path = `/echo/cost-stampede-${Date.now()}-${round}?${CACHED}`
            const answers = await Promise.all(
              Array.from({ length: STAMPEDE_SIZE }, (_, i) =>
                get(workerUrl + path, COLOS[i % COLOS.length]!)
              )
            )
            notHits += answers.filter((answer) => !isHit(answer)).length
          }
        } finally {
          ctx.origin.state.setLatency(20)
        }
        const requests = STAMPEDE_ROUNDS * STAMPEDE_SIZE
        return { requests, saw: `${notHits} not hits (misses and collapsed)`, problems: [] }
      },
    },
    {
      name: `purge-heavy: 1 tag purge per ${READS_PER_PURGE} reads, ${PURGE_KEYS} keys, six colos`,
      async prepare() {
        for (let k = 0; k < PURGE_KEYS; k++) await prime(purgePath(k), COLOS)
      },
      async run() {
        const purges = PURGE_READS / READS_PER_PURGE
        const jobs = Array.from({ length: PURGE_READS + purges }, (_, i) =>
          i % (READS_PER_PURGE + 1) === READS_PER_PURGE ? 'purge' : 'read'
        )
        let hits = 0
        let purged = 0
        const problems: string[] = []
        await pool(jobs, async (job, i) => {
          const k = i % PURGE_KEYS
          if (job === 'purge') {
            const n = Math.floor(i / (READS_PER_PURGE + 1))
            const status = await purge(`cost-purge-${n % PURGE_KEYS}`)
            if (status === 200) purged++
            else problems.push(`purge answered ${status}`)
          } else if (isHit(await get(workerUrl + purgePath(k), COLOS[i % COLOS.length]!))) hits++
        })
        return {
          requests: jobs.length,
          saw: `${hits} hits of ${PURGE_READS} reads, ${purged} purges`,
          problems,
          adminRequests: purges,
        }
      },
    },
  ]
}
