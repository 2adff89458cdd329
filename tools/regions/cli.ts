/**
 * `npx tsx tools/regions/cli.ts [--names us-east,eu-west,ap-south] [--scale 1] [--token dev-l2-token]
 * [--control-port 0]`: the simulated L2 regions and their control API, without the Worker.
 * Ctrl-C stops every redis-server.
 */
import { parseArgs } from 'node:util'
import { onShutdown } from '../lib/processes'
import { DEFAULT_REGIONS_TOKEN, startRegions } from './index'
import { regionExamples, regionTable } from './summary'

const { values } = parseArgs({
  options: {
    names: { type: 'string' },
    scale: { type: 'string', default: '1' },
    token: { type: 'string', default: DEFAULT_REGIONS_TOKEN },
    'control-port': { type: 'string', default: '0' },
  },
})

function nonNegative(name: string, raw: string, integer: boolean): number {
  const value = Number(raw)
  if (!Number.isFinite(value) || value < 0 || (integer && !Number.isInteger(value))) {
    console.error(`--${name} must be a non-negative ${integer ? 'integer' : 'number'}, got ${raw}`)
    process.exit(2)
  }
  return value
}

const regions = await startRegions({
  names: values.names?.split(',').map((name) => name.trim()),
  token: values.token,
  latencyScale: nonNegative('scale', values.scale, false),
  controlPort: nonNegative('control-port', values['control-port'], true),
}).catch((error: Error) => {
  console.error(`could not start: ${error.message}`)
  process.exit(1)
})

onShutdown(async () => {
  console.log('\nstopping...')
  await regions.stop()
})

console.log(`
Simulated L2 regions ready (each a redis-server behind an Upstash-compatible REST endpoint)

${regionTable(regions)
  .map((line) => `  ${line}`)
  .join('\n')}
  control   ${regions.controlUrl}

  L2_REGIONS='${regions.l2RegionsJson}'

Try:
${regionExamples(regions)}

Ctrl-C stops them all.`)
