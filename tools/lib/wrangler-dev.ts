/**
 * `wrangler dev` as a managed child: free ports, a throwaway persistence dir, no prompts, no
 * telemetry, no network besides what the Worker itself fetches.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from './ports'
import { onShutdown, spawnManaged, waitForHttp, type ManagedProcess } from './processes'

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const BIN_DIR = path.join(REPO_ROOT, 'node_modules', '.bin')

export interface WranglerDevOptions {
  /** Prefix of the child's output lines, and part of the temp dir name. */
  name: string
  /** wrangler.toml path, relative to the repo root or absolute. */
  configPath: string
  /** Port to listen on; a free one when omitted. */
  port?: number
  /** `--var K:V` bindings; they override the config's [vars]. JSON strings are fine. */
  vars?: Record<string, string>
  quiet?: boolean
  /** Deadline for wrangler to answer HTTP (default 90 s: the first build on a busy machine is slow). */
  timeoutMs?: number
  /** Extra `wrangler dev` arguments. */
  args?: readonly string[]
  /** The Worker's entry, in place of the config's `main` (same bindings and vars). */
  script?: string
  /** Path probed until wrangler answers (any status); pick one that does not reach the origin. */
  readyPath?: string
  /** Dev registry shared with other `wrangler dev` processes; isolated per instance by default. */
  registryPath?: string
}

export interface WranglerDev {
  url: string
  port: number
  process: ManagedProcess
  stop(): Promise<void>
}

/** Everything that would make wrangler prompt, phone home or print noise. */
function quietEnv(workDir: string, registryPath: string | undefined): Record<string, string> {
  return {
    // The wrangler launcher is `#!/usr/bin/env node`: put the project's Node (22) first.
    PATH: [BIN_DIR, process.env.PATH].filter(Boolean).join(path.delimiter),
    WRANGLER_SEND_METRICS: 'false',
    WRANGLER_SEND_ERROR_REPORTS: 'false',
    DO_NOT_TRACK: '1',
    WRANGLER_HIDE_BANNER: 'true',
    WRANGLER_NO_SKILLS_UPDATE_PROMPTS: 'true',
    // Miniflare would otherwise download request.cf data from workers.cloudflare.com.
    CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    // The local explorer/observability UI adds workers we do not need (and CPU on a 2-core box).
    X_LOCAL_EXPLORER: 'false',
    X_LOCAL_OBSERVABILITY: 'false',
    WRANGLER_LOG_PATH: path.join(workDir, 'logs'),
    WRANGLER_REGISTRY_PATH: registryPath ?? path.join(workDir, 'registry'),
  }
}

function isAddressInUse(lines: readonly string[]): boolean {
  return lines.some((line) => /EADDRINUSE|address already in use/i.test(line))
}

export async function startWranglerDev(options: WranglerDevOptions): Promise<WranglerDev> {
  const configPath = path.resolve(REPO_ROOT, options.configPath)
  const workDir = await mkdtemp(path.join(tmpdir(), `wrangler-${options.name}-`))
  const env = quietEnv(workDir, options.registryPath)
  const varArgs = Object.entries(options.vars ?? {}).flatMap(([k, v]) => ['--var', `${k}:${v}`])
  let child: ManagedProcess | undefined
  let cleaning: Promise<void> | undefined
  const cleanup = () =>
    (cleaning ??= (async () => {
      unregister()
      await child?.stop()
      await rm(workDir, { recursive: true, force: true })
    })())
  // Ctrl-C while wrangler is still starting must clean up too.
  const unregister = onShutdown(cleanup)
  // A free port can be taken between our probe and wrangler's bind: retry that case only.
  const attempts = options.port ? 1 : 3
  try {
    for (let attempt = 1; ; attempt++) {
      const port = options.port ?? (await freePort())
      const inspectorPort = await freePort()
      const args = [
        'dev',
        ...(options.script ? [path.resolve(REPO_ROOT, options.script)] : []),
        '--config',
        configPath,
        '--ip',
        '127.0.0.1',
        '--port',
        String(port),
        '--inspector-port',
        String(inspectorPort),
        '--persist-to',
        path.join(workDir, 'state'),
        '--show-interactive-dev-session=false',
        '--log-level',
        'warn',
        ...varArgs,
        ...(options.args ?? []),
      ]
      child = spawnManaged(options.name, path.join(BIN_DIR, 'wrangler'), args, {
        cwd: REPO_ROOT,
        env,
        quiet: options.quiet,
      })
      const url = `http://127.0.0.1:${port}`
      try {
        await waitForHttp(url + (options.readyPath ?? '/'), {
          timeoutMs: options.timeoutMs ?? 90_000,
          process: child,
          // wrangler keeps watching after a failed build; nobody will fix it mid-run.
          failOnOutput: /Build failed|\[ERROR\]/,
        })
      } catch (error) {
        await child.stop()
        if (attempt < attempts && isAddressInUse(child.lastOutput())) continue
        throw error
      }
      return { url, port, process: child, stop: cleanup }
    }
  } catch (error) {
    await cleanup()
    throw error
  }
}
