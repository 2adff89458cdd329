/** The lines `npm start` and the regions CLI print about the simulated regions. */
import type { Regions } from './index'

/** One line per region (name, URL), then the delays and the token; not indented. */
export function regionTable(regions: Regions): string[] {
  const width = Math.max(...regions.regions.map((r) => r.name.length)) + 2
  const names = regions.regions.map((r) => r.name)
  const pairs = names.flatMap((a, i) =>
    names.slice(i + 1).map((b) => `${a}↔${b} ${round(regions.latencyMs[a]![b]!)}`)
  )
  const same = round(regions.latencyMs[names[0]!]![names[0]!]!)
  return [
    ...regions.regions.map((r) => `${r.name.padEnd(width)}${r.url}`),
    `(one-way ms: same region ${same}${pairs.map((p) => `, ${p}`).join('')}; token ${regions.regions[0]!.token})`,
  ]
}

/** curl examples for the control API and for one region through the client-region prefix. */
export function regionExamples(regions: Regions, indent = '  '): string {
  const c = regions.controlUrl
  const [first, second = first] = regions.regions
  return [
    `curl -s ${c}/regions                     # up/down, faults, latency, requests per client region`,
    `curl -s -X POST ${c}/regions/${second!.name}/stop      # kill its redis-server and endpoint`,
    `curl -s -X POST ${c}/regions/${second!.name}/start`,
    `curl -s -X POST ${c}/regions/${second!.name}/partition # cut off (503), data kept; /heal ends it`,
    `curl -s -X POST -H 'content-type: application/json' -d '{"extraLatencyMs":300}' \\\n${indent}  ${c}/regions/${first!.name}/fault`,
    `curl -s -X POST ${c}/regions/reset               # all up, no faults, counters zeroed`,
    `curl -s -H 'Authorization: Bearer ${first!.token}' -d '["SET","k","v"]' \\\n${indent}  ${first!.url}/from/${second!.name}   # as a client in ${second!.name}`,
  ]
    .map((line) => `${indent}${line}`)
    .join('\n')
}

const round = (ms: number) => Math.round(ms * 100) / 100
