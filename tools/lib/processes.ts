/**
 * Child processes for the local stack and the bench: prefixed (or buffered) output, whole process
 * groups killed on stop, on exit and on SIGINT/SIGTERM, so no workerd outlives its wrangler.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { constants } from 'node:os'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'

export interface SpawnOptions {
  env?: Record<string, string | undefined>
  cwd?: string
  /** Keep output in a ring buffer instead of printing it; it is dumped if the child dies unexpectedly. */
  quiet?: boolean
  /** Lines kept for error messages (default 200). */
  keepLines?: number
}

export interface ExitInfo {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface ManagedProcess {
  readonly name: string
  readonly pid: number
  readonly child: ChildProcess
  /** Resolves when the child has exited (never rejects). */
  readonly exited: Promise<ExitInfo>
  /** Set once the child has exited. */
  readonly exitInfo: ExitInfo | undefined
  /** The last lines the child printed (stdout and stderr interleaved), oldest first. */
  lastOutput(lines?: number): string[]
  /** SIGTERM to the whole group, SIGKILL after `graceMs` (default 5000). Idempotent. */
  stop(graceMs?: number): Promise<void>
}

const live = new Set<ManagedProcess>()
const shutdownHooks = new Set<() => Promise<void> | void>()
let handlersInstalled = false
let shuttingDown = false

// CSI sequences (colours, cursor moves) and OSC hyperlinks: matching control characters is the point.
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)/g

export function stripAnsi(text: string): string {
  return text.replace(ANSI, '')
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal)
  } catch {
    // ESRCH: the group is already gone.
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * Killed grandchildren whose parent exited first are reparented to init and linger as zombies
 * until it reaps them (about a second here): wait, so `stop()` means nothing is left.
 */
async function groupGone(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (groupAlive(pid) && Date.now() < deadline) await sleep(25)
}

/** Runs `hook` (before children are stopped) when this process is told to stop by a signal. */
export function onShutdown(hook: () => Promise<void> | void): () => void {
  installHandlers()
  shutdownHooks.add(hook)
  return () => shutdownHooks.delete(hook)
}

/** Stops every child still running, in parallel. */
export async function stopAll(graceMs?: number): Promise<void> {
  await Promise.all([...live].map((p) => p.stop(graceMs)))
}

async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (shuttingDown) {
    // Second Ctrl-C: no more patience.
    for (const p of live) killGroup(p.pid, 'SIGKILL')
    process.exit(130)
  }
  shuttingDown = true
  // Someone else listens too (a test runner, say): they decide when to exit; the exit hook
  // below still kills whatever is left.
  const othersListen = process.listenerCount(signal) > 1
  const deadline = sleep(15_000, 'timeout' as const, { ref: false })
  const work = (async () => {
    for (const hook of [...shutdownHooks].reverse()) {
      await Promise.resolve()
        .then(hook)
        .catch((error: unknown) => console.error('shutdown hook failed:', error))
    }
    await stopAll()
  })()
  if ((await Promise.race([work, deadline])) === 'timeout') {
    for (const p of live) killGroup(p.pid, 'SIGKILL')
  }
  if (!othersListen) process.exit(128 + constants.signals[signal])
}

function installHandlers(): void {
  if (handlersInstalled) return
  handlersInstalled = true
  process.on('exit', () => {
    for (const p of live) killGroup(p.pid, 'SIGKILL')
  })
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => void shutdown(signal))
  }
}

/**
 * Spawns `cmd` in its own process group (so a signal to the group reaches its grandchildren,
 * e.g. wrangler's workerd) and tracks it until it exits.
 */
export function spawnManaged(
  name: string,
  cmd: string,
  args: readonly string[],
  options: SpawnOptions = {}
): ManagedProcess {
  installHandlers()
  const keepLines = options.keepLines ?? 200
  const child = spawn(cmd, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const pid = child.pid ?? -1
  const ring: string[] = []
  let stopping = false
  let exitInfo: ExitInfo | undefined

  const record = (raw: string, stream: NodeJS.WriteStream) => {
    const line = stripAnsi(raw)
    ring.push(line)
    if (ring.length > keepLines) ring.shift()
    if (!options.quiet) stream.write(`[${name}] ${stream.isTTY ? raw : line}\n`)
  }
  if (child.stdout)
    createInterface({ input: child.stdout }).on('line', (l) => record(l, process.stdout))
  if (child.stderr)
    createInterface({ input: child.stderr }).on('line', (l) => record(l, process.stderr))

  const exited = new Promise<ExitInfo>((resolve) => {
    const done = (info: ExitInfo) => {
      if (exitInfo) return
      exitInfo = info
      live.delete(managed)
      // Leftover group members (a grandchild the leader did not reap) go with it.
      if (pid > 0) killGroup(pid, 'SIGKILL')
      if (!stopping && !shuttingDown) {
        const how = info.signal ? `signal ${info.signal}` : `code ${info.code}`
        console.error(`[${name}] exited unexpectedly (${how})`)
        if (options.quiet && ring.length) {
          console.error(
            ring
              .slice(-40)
              .map((line) => `[${name}] ${line}`)
              .join('\n')
          )
        }
      }
      resolve(info)
    }
    child.once('exit', (code, signal) => done({ code, signal }))
    child.once('error', (error) => {
      record(`spawn error: ${error.message}`, process.stderr)
      done({ code: null, signal: null })
    })
  })

  let stopped: Promise<void> | undefined
  const managed: ManagedProcess = {
    name,
    pid,
    child,
    exited,
    get exitInfo() {
      return exitInfo
    },
    lastOutput: (lines = keepLines) => ring.slice(-lines),
    stop(graceMs = 5000) {
      stopping = true
      stopped ??= (async () => {
        if (pid < 0) return
        if (!exitInfo) {
          killGroup(pid, 'SIGTERM')
          const timer = sleep(graceMs, 'timeout' as const, { ref: false })
          if ((await Promise.race([exited, timer])) === 'timeout') killGroup(pid, 'SIGKILL')
          await exited
        }
        await groupGone(pid, 3000)
      })()
      return stopped
    },
  }
  if (pid > 0) live.add(managed)
  return managed
}

export interface WaitForHttpOptions {
  timeoutMs?: number
  /** Accepted status(es); any status counts as "up" when omitted. */
  expectStatus?: number | readonly number[]
  intervalMs?: number
  /** Fail fast if this child exits, and quote its last output in errors. */
  process?: ManagedProcess
  /** Fail fast when a line of the child's output matches (e.g. a build error). */
  failOnOutput?: RegExp
}

/** Polls `url` until it answers (with an expected status) or the deadline passes; returns the status. */
export async function waitForHttp(url: string, options: WaitForHttpOptions = {}): Promise<number> {
  const { timeoutMs = 30_000, intervalMs = 200, process: child } = options
  const expected =
    options.expectStatus === undefined ? undefined : ([] as number[]).concat(options.expectStatus)
  const deadline = Date.now() + timeoutMs
  let last = 'no attempt made'
  const fail = (message: string): never => {
    const output = child?.lastOutput(30) ?? []
    const tail = output.length
      ? `\n--- last output of ${child!.name} ---\n${output.join('\n')}`
      : ''
    throw new Error(`${message}${tail}`)
  }
  for (;;) {
    if (child?.exitInfo) {
      const { code, signal } = child.exitInfo
      fail(`${child.name} exited (${signal ?? `code ${code}`}) before ${url} answered`)
    }
    const failLine =
      options.failOnOutput && child?.lastOutput().find((l) => options.failOnOutput!.test(l))
    if (failLine) fail(`${child!.name} failed before ${url} answered: ${failLine.trim()}`)
    const remaining = deadline - Date.now()
    if (remaining <= 0) fail(`timed out after ${timeoutMs} ms waiting for ${url} (last: ${last})`)
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(Math.min(5000, remaining)) })
      await response.arrayBuffer().catch(() => undefined)
      if (!expected || expected.includes(response.status)) return response.status
      last = `status ${response.status}`
    } catch (error) {
      // undici hides the socket error: fetch failed ← (AggregateError ←) ECONNREFUSED.
      const cause = (
        error as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } }
      ).cause
      last = cause?.code ?? cause?.errors?.[0]?.code ?? cause?.message ?? (error as Error).message
    }
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())))
  }
}
