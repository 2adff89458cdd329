/**
 * `npm start`: the demo origin and the Worker (wrangler dev) in front of it. Ctrl-C stops both.
 * Env: PORT (worker, default 8787), ORIGIN_PORT (default 8788), ORIGIN_LATENCY_MS (default 200),
 * ADMIN_TOKEN (default dev-admin-token).
 */
import { preferredPort } from './lib/ports'
import { onShutdown } from './lib/processes'
import { startStack } from './lib/stack'

function envInt(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 0)
    throw new Error(`${name} must be a non-negative integer`)
  return value
}

const started = Date.now()
const [workerPort, originPort] = await Promise.all([
  preferredPort(envInt('PORT', 8787)),
  preferredPort(envInt('ORIGIN_PORT', 8788)),
])
console.log('starting the demo origin and the Worker (wrangler dev)...')
const stack = await startStack({
  workerPort,
  originPort,
  originLatencyMs: envInt('ORIGIN_LATENCY_MS', 200),
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

const { workerUrl: w, originUrl: o, adminToken } = stack
console.log(`
ready in ${((Date.now() - started) / 1000).toFixed(1)} s

  Worker       ${w}
  demo origin  ${o}  (latency ${stack.origin.state.latencyMs} ms)
  admin token  ${adminToken}

Try:
  curl -i ${w}/products/1        # twice: the second says Cache-Status: ...; hit; ...
  curl -s ${o}/__origin/stats    # origin fetch counters
  curl -X POST -H 'Authorization: Bearer ${adminToken}' -H 'content-type: application/json' \\
    -d '{"urls":["/products/1"]}' ${w}/_cache/purge
  curl -X POST -H 'content-type: application/json' -d '{"mode":"error"}' ${o}/__origin/fail

Ctrl-C stops everything.`)
