/**
 * Runs the demo origin on its own:
 *   npx tsx tools/demo-origin/server.ts --port 8788 --latency 200
 */
import { parseArgs } from 'node:util'
import { serveDemoOrigin } from '../lib/origin-server'

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.ORIGIN_PORT ?? '8788' },
    latency: { type: 'string', default: '200' },
  },
})

function integer(name: string, raw: string): number {
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 0) {
    console.error(`--${name} must be a non-negative integer, got "${raw}"`)
    process.exit(2)
  }
  return value
}

const server = await serveDemoOrigin({
  port: integer('port', values.port),
  latencyMs: integer('latency', values.latency),
}).catch((error: Error) => {
  console.error(`demo origin: cannot listen: ${error.message}`)
  process.exit(1)
})

console.log(`demo origin listening on ${server.url} (latency ${server.state.latencyMs} ms)`)
console.log(`  stats: curl -s ${server.url}/__origin/stats`)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void server.close().then(() => process.exit(0))
  })
}
