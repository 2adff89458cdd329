/**
 * One simulated L2 region: a redis-server (no persistence) and the Upstash-compatible REST
 * endpoint in front of it. `stop()` really stops both (callers get connection refused) and
 * `start()` brings them back on the same ports, empty; the fault and the counters survive.
 */
import {
  checkFault,
  startUpstashRest,
  type CommandStats,
  type Fault,
  type RequestStats,
  type StartedUpstashRest,
} from '../upstash-rest/server'

export interface RegionStatus {
  name: string
  url: string
  /** Its redis-server, for `redis-cli -u`. */
  redisUrl: string
  /** Listening, and its redis-server is running. */
  up: boolean
  /** Cut off (fault `down`): every request answers 503, its redis-server keeps its data. */
  partitioned: boolean
  fault: Fault
  /** One-way delay (ms) from each client region to this one. */
  latencyMs: Record<string, number>
  stats: RequestStats
  /** Commands run, by name, as Upstash bills them (zeroed with the request counters). */
  commands: CommandStats
  /** Subscription streams open now. */
  subscriptions: number
}

export interface SimulatedRegion {
  readonly name: string
  /** `http://127.0.0.1:<port>`: the same across restarts. */
  readonly url: string
  readonly up: boolean
  status(): RegionStatus
  /** Idempotent; also restarts a region whose redis-server died. */
  start(): Promise<void>
  /** Idempotent. */
  stop(): Promise<void>
  /** A crash: only the redis-server goes (SIGKILL); the endpoint answers 503 until `start()`. */
  killRedis(): Promise<void>
  setFault(fault: Fault): void
  stats(): RequestStats
  commands(): CommandStats
  resetStats(): void
}

export interface RegionOptions {
  name: string
  token: string
  /** One-way delay (ms) from each client region; unknown and direct callers get none. */
  latencyMs: Record<string, number>
}

const emptyStats = (): RequestStats => ({ requests: {}, errors: 0 })

function addStats(into: RequestStats, more: RequestStats): RequestStats {
  for (const [from, n] of Object.entries(more.requests)) {
    into.requests[from] = (into.requests[from] ?? 0) + n
  }
  into.errors += more.errors
  return into
}

function addCommands(into: CommandStats, more: CommandStats): CommandStats {
  for (const [name, n] of Object.entries(more)) into[name] = (into[name] ?? 0) + n
  return into
}

export async function startSimulatedRegion(options: RegionOptions): Promise<SimulatedRegion> {
  const { name, token, latencyMs } = options
  const latencyFor = (client: string | undefined) => (client ? (latencyMs[client] ?? 0) : 0)
  let ports: { rest: number; redis: number } | undefined
  let current: StartedUpstashRest | undefined
  // Counted by an endpoint that is being stopped, or was stopped before.
  let retiring: StartedUpstashRest | undefined
  let past = emptyStats()
  let pastCommands: CommandStats = {}
  let fault: Fault = {}

  const isUp = () => current !== undefined && !current.redis.process.exitInfo

  const stopNow = async () => {
    const instance = current
    if (!instance) return
    current = undefined
    retiring = instance
    await instance.stop()
    addStats(past, instance.stats())
    addCommands(pastCommands, instance.commands())
    retiring = undefined
  }

  const startNow = async () => {
    if (isUp()) return
    await stopNow() // the redis-server died under it: start both afresh
    const instance = await startUpstashRest({
      token,
      port: ports?.rest,
      redisPort: ports?.redis,
      latencyFor,
    })
    instance.setFault(fault)
    ports ??= { rest: instance.port, redis: instance.redis.port }
    current = instance
  }

  // One start or stop at a time, in call order.
  let queue: Promise<void> = Promise.resolve()
  const serial = (work: () => Promise<void>) => {
    const next = queue.catch(() => undefined).then(work)
    queue = next
    return next
  }

  const killRedisNow = async () => {
    const redis = current?.redis
    if (!redis) return
    await redis.process.stop(0)
    await redis.stop() // its temp dir
  }

  await startNow()
  const url = `http://127.0.0.1:${ports!.rest}`
  const redisUrl = `redis://127.0.0.1:${ports!.redis}`

  const stats = () => {
    const total = addStats(emptyStats(), past)
    if (retiring) addStats(total, retiring.stats())
    if (current) addStats(total, current.stats())
    return total
  }
  const commands = () => {
    const total = addCommands({}, pastCommands)
    if (retiring) addCommands(total, retiring.commands())
    if (current) addCommands(total, current.commands())
    return total
  }

  return {
    name,
    url,
    get up() {
      return isUp()
    },
    status: () => ({
      name,
      url,
      redisUrl,
      up: isUp(),
      partitioned: fault.down === true,
      fault: { ...fault },
      latencyMs,
      stats: stats(),
      commands: commands(),
      subscriptions: current?.rest.subscriptions ?? 0,
    }),
    start: () => serial(startNow),
    stop: () => serial(stopNow),
    killRedis: () => serial(killRedisNow),
    setFault(next) {
      fault = checkFault(next)
      current?.setFault(fault)
    },
    stats,
    commands,
    resetStats() {
      past = emptyStats()
      pastCommands = {}
      current?.resetStats()
      retiring?.resetStats()
    },
  }
}
