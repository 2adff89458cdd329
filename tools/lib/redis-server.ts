/**
 * A throw-away `redis-server` on 127.0.0.1: no persistence, a fresh temp dir, killed with its
 * parent (spawnManaged) and removed on stop.
 */
import { constants } from 'node:fs'
import { access, mkdtemp, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from './ports'
import { spawnManaged, type ManagedProcess } from './processes'

export interface RedisServer {
  port: number
  /** `redis://127.0.0.1:<port>` */
  url: string
  process: ManagedProcess
  /** Stops the server and removes its temp dir. Idempotent. */
  stop(): Promise<void>
}

export interface RedisServerOptions {
  /** Fixed port; default a free one (retried if another process takes it first). */
  port?: number
  /** How long to wait for the first PONG (default 10 s). */
  startTimeoutMs?: number
}

/** The absolute path of `redis-server` on PATH, or a message saying how to install it. */
export async function findRedisServer(): Promise<string> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue
    const candidate = join(dir, 'redis-server')
    try {
      await access(candidate, constants.X_OK)
      return candidate
    } catch {
      // Not here.
    }
  }
  throw new Error(
    'redis-server was not found on PATH; install it (Debian/Ubuntu: `apt-get install -y redis-server`)'
  )
}

/** One PING over a raw socket: true on `+PONG`, false on any error or after `timeoutMs`. */
export function pingRedis(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    let reply = ''
    const finish = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => finish(false))
    socket.once('error', () => finish(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1')
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'))
    })
  })
}

async function startOnce(
  bin: string,
  port: number,
  timeoutMs: number
): Promise<RedisServer | 'port-taken'> {
  const dir = await mkdtemp(join(tmpdir(), 'redis-'))
  const child = spawnManaged(
    `redis:${port}`,
    bin,
    [
      ...['--port', String(port), '--bind', '127.0.0.1', '--protected-mode', 'yes'],
      ...['--save', '', '--appendonly', 'no', '--dir', dir],
      ...['--daemonize', 'no', '--loglevel', 'warning', '--logfile', ''],
    ],
    { quiet: true }
  )
  let stopped: Promise<void> | undefined
  const stop = () =>
    (stopped ??= (async () => {
      await child.stop()
      await rm(dir, { recursive: true, force: true })
    })())

  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (child.exitInfo) {
      const output = child.lastOutput(20).join('\n')
      await stop()
      if (/address already in use/i.test(output)) return 'port-taken'
      throw new Error(`redis-server exited before answering PING:\n${output}`)
    }
    if (await pingRedis(port, 500)) break
    if (Date.now() > deadline) {
      const output = child.lastOutput(20).join('\n')
      await stop()
      throw new Error(`redis-server did not answer PING within ${timeoutMs} ms:\n${output}`)
    }
    await sleep(25)
  }
  return { port, url: `redis://127.0.0.1:${port}`, process: child, stop }
}

/** Starts `redis-server` on 127.0.0.1 and resolves once it answers PING. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const bin = await findRedisServer()
  const timeoutMs = options.startTimeoutMs ?? 10_000
  // A port from freePort() can be taken before redis binds it: try a few.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = options.port ?? (await freePort())
    const started = await startOnce(bin, port, timeoutMs)
    if (started !== 'port-taken') return started
    if (options.port) throw new Error(`redis-server: port ${port} is already in use`)
  }
  throw new Error('redis-server: no free port after 5 attempts')
}
