/**
 * `npm start`: the demo origin, three simulated L2 regions and the Worker (wrangler dev) in front
 * of them. Ctrl-C stops everything.
 * Env: PORT (worker, default 8787), ORIGIN_PORT (default 8788), ORIGIN_LATENCY_MS (default 200),
 * REGION_LATENCY_SCALE (multiplies the regions' latency matrix, default 1), ADMIN_TOKEN
 * (default dev-admin-token).
 */
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { preferredPort } from './lib/ports'
import { onShutdown } from './lib/processes'
import { startStack } from './lib/stack'
import { REPO_ROOT } from './lib/wrangler-dev'
import { regionExamples, regionTable } from './regions/summary'

function envInt(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 0)
    throw new Error(`${name} must be a non-negative integer`)
  return value
}

function envScale(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number >= 0`)
  return value
}

const started = Date.now()
const [workerPort, originPort] = await Promise.all([
  preferredPort(envInt('PORT', 8787)),
  preferredPort(envInt('ORIGIN_PORT', 8788)),
])
// redis-server backs the simulated L2 regions: installed when missing (as root or with sudo -n);
// without it the product still runs, on memory and L1 alone.
const installer = spawnSync(
  'bash',
  [path.join(REPO_ROOT, 'tools/system-packages.sh'), 'redis-server'],
  {
    stdio: 'inherit',
  }
)
const withL2 = installer.status === 0
if (!withL2)
  console.log('L2 is off: redis-server could not be had; starting without the simulated regions.')
console.log(
  `starting the demo origin${withL2 ? ', the L2 regions' : ''} and the Worker (wrangler dev)...`
)
const stack = await startStack({
  workerPort,
  originPort,
  originLatencyMs: envInt('ORIGIN_LATENCY_MS', 200),
  regions: withL2 ? { latencyScale: envScale('REGION_LATENCY_SCALE', 1) } : false,
  onPart: (part, detail, seconds) =>
    console.log(`  up: ${part.padEnd(22)} ${detail}  (${seconds.toFixed(1)} s)`),
}).catch((error: Error) => {
  console.error(`could not start the stack: ${error.message}`)
  process.exit(1)
})

let stopping = false
onShutdown(() => {
  stopping = true
  console.log('\nstopping...')
})
void stack.worker.process.exited.then(async () => {
  if (stopping) return
  console.error('the Worker stopped; shutting down')
  await stack.stop()
  process.exit(1)
})

const { workerUrl: w, originUrl: o, adminToken, regions } = stack
// A client somewhere other than the first region.
const clientRegion = regions && (regions.regions[1] ?? regions.regions[0]!).name
const regionRows = regions
  ? regionTable(regions).map((line, i) => `${i ? '               ' : '  L2 regions   '}${line}`)
  : ['  L2 regions   off (no redis-server): memory and L1 only']
console.log(`
ready in ${((Date.now() - started) / 1000).toFixed(1)} s

  Worker       ${w}
  demo origin  ${o}  (latency ${stack.origin.state.latencyMs} ms)
  admin token  ${adminToken}
${regionRows.join('\n')}${regions ? `\n  regions API  ${regions.controlUrl}` : ''}

Try:
  curl -i ${w}/products/1        # twice: the second says Cache-Status: ...; hit; ...${
    clientRegion
      ? `\n  curl -i -H 'x-sim-region: ${clientRegion}' ${w}/products/1   # as a client in that region`
      : ''
  }
  curl -s ${o}/__origin/stats    # origin fetch counters
  curl -X POST -H 'Authorization: Bearer ${adminToken}' -H 'content-type: application/json' \\
    -d '{"urls":["/products/1"]}' ${w}/_cache/purge
  curl -X POST -H 'content-type: application/json' -d '{"mode":"error"}' ${o}/__origin/fail
${regions ? `\nRegions:\n${regionExamples(regions)}\n` : ''}
Ctrl-C stops everything.`)
