/**
 * `npx tsx tools/upstash-rest/cli.ts [--port 8079] [--token dev] [--latency-ms 0]`: a fresh
 * redis-server and the Upstash-compatible REST endpoint in front of it. Ctrl-C stops both.
 */
import { parseArgs } from 'node:util'
import { onShutdown } from '../lib/processes'
import { startUpstashRest } from './server'

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8079' },
    token: { type: 'string', default: 'dev' },
    'latency-ms': { type: 'string', default: '0' },
  },
})

function nonNegativeInt(name: string, raw: string): number {
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 0) {
    console.error(`--${name} must be a non-negative integer, got ${raw}`)
    process.exit(2)
  }
  return value
}

const port = nonNegativeInt('port', values.port)
const latencyMs = nonNegativeInt('latency-ms', values['latency-ms'])

const rest = await startUpstashRest({ token: values.token, port, latencyMs }).catch(
  (error: Error) => {
    console.error(`could not start: ${error.message}`)
    process.exit(1)
  }
)

let stopping = false
onShutdown(async () => {
  stopping = true
  console.log('\nstopping...')
  await rest.stop()
})
void rest.redis.process.exited.then(async () => {
  if (stopping) return
  console.error('redis-server stopped; shutting down')
  await rest.stop()
  process.exit(1)
})

console.log(`
Upstash-compatible REST endpoint ready (redis-server on ${rest.redis.url})

  UPSTASH_REDIS_REST_URL=${rest.url}
  UPSTASH_REDIS_REST_TOKEN=${rest.token}
  latency      ${latencyMs} ms per request

Try:
  curl -s -H 'Authorization: Bearer ${rest.token}' -d '["SET","greeting","hello"]' ${rest.url}/
  curl -s -H 'Authorization: Bearer ${rest.token}' -d '[["INCR","n"],["GET","n"]]' ${rest.url}/pipeline
  curl -N -H 'Authorization: Bearer ${rest.token}' ${rest.url}/subscribe/news   # then PUBLISH news hi

Ctrl-C stops both.`)
