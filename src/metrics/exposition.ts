import { COUNTERS, HISTOGRAMS, LATENCY_BUCKETS, PREFIX, type BreakerState } from './catalogue'
import { splitKey, type BreakerReport, type SeriesSet } from './series'

/** Prometheus text exposition format, version 0.0.4. */
export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

export interface ExpositionInput {
  readonly totals: SeriesSet
  /** Latest reported breaker state per region. */
  readonly breakers: Readonly<Record<string, BreakerReport>>
  /** Batches the Stats object has summed. */
  readonly batches: number
  /** Keys each L2 region's Redis evicted, from its INFO (read by this isolate); absent: unknown. */
  readonly l2EvictedKeys?: Readonly<Record<string, number>>
}

interface Spec {
  readonly help: string
  readonly labels: readonly string[]
}

const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half-open']

const escapeHelp = (text: string) => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
const escapeValue = (text: string) =>
  text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Infinity) return '+Inf'
  if (value === -Infinity) return '-Inf'
  return String(value)
}

function labelSet(names: readonly string[], values: readonly string[], extra?: string): string {
  const pairs = names.map((name, i) => `${name}="${escapeValue(values[i] ?? '')}"`)
  if (extra) pairs.push(extra)
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`
}

function header(lines: string[], name: string, help: string, type: string): void {
  lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`)
}

const sortedKeys = (series: Record<string, unknown>) => Object.keys(series).sort()

function renderCounter(lines: string[], metric: string, spec: Spec, set: SeriesSet) {
  const name = PREFIX + metric
  header(lines, name, spec.help, 'counter')
  const series = set.counters[metric] ?? {}
  const keys = sortedKeys(series)
  // A counter without labels always has its one sample; labelled ones appear once they count.
  if (keys.length === 0 && spec.labels.length === 0) lines.push(`${name} 0`)
  for (const key of keys) {
    lines.push(`${name}${labelSet(spec.labels, splitKey(key))} ${formatNumber(series[key]!)}`)
  }
}

function renderHistogram(lines: string[], metric: string, spec: Spec, set: SeriesSet) {
  const name = PREFIX + metric
  header(lines, name, spec.help, 'histogram')
  const series = set.histograms[metric] ?? {}
  for (const key of sortedKeys(series)) {
    const values = splitKey(key)
    const histogram = series[key]!
    let cumulative = 0
    for (let i = 0; i <= LATENCY_BUCKETS.length; i++) {
      cumulative += histogram.buckets[i] ?? 0
      const le = i < LATENCY_BUCKETS.length ? formatNumber(LATENCY_BUCKETS[i]!) : '+Inf'
      lines.push(`${name}_bucket${labelSet(spec.labels, values, `le="${le}"`)} ${cumulative}`)
    }
    lines.push(`${name}_sum${labelSet(spec.labels, values)} ${formatNumber(histogram.sum)}`)
    lines.push(`${name}_count${labelSet(spec.labels, values)} ${histogram.count}`)
  }
}

/** Every catalogue metric (in catalogue order), then what only the Stats object knows. */
export function renderExposition(input: ExpositionInput): string {
  const lines: string[] = []
  for (const [metric, spec] of Object.entries(COUNTERS))
    renderCounter(lines, metric, spec, input.totals)
  for (const [metric, spec] of Object.entries(HISTOGRAMS))
    renderHistogram(lines, metric, spec, input.totals)

  const breaker = `${PREFIX}breaker_state`
  header(lines, breaker, 'Latest reported circuit breaker state per region (1 = current).', 'gauge')
  for (const region of Object.keys(input.breakers).sort()) {
    for (const state of BREAKER_STATES) {
      const current = input.breakers[region]!.state === state ? 1 : 0
      lines.push(`${breaker}${labelSet(['region', 'state'], [region, state])} ${current}`)
    }
  }
  const evicted = `${PREFIX}l2_evicted_keys_total`
  header(
    lines,
    evicted,
    "Keys each L2 region's Redis evicted (maxmemory policy), from its INFO stats: read at most every metrics.l2InfoIntervalMs per isolate; a region that did not answer is left out.",
    'counter'
  )
  const byRegion = input.l2EvictedKeys ?? {}
  for (const region of Object.keys(byRegion).sort()) {
    lines.push(`${evicted}${labelSet(['region'], [region])} ${formatNumber(byRegion[region]!)}`)
  }
  const batches = `${PREFIX}stats_batches_total`
  header(lines, batches, 'Isolate batches summed by the Stats Durable Object.', 'counter')
  lines.push(`${batches} ${input.batches}`)
  return lines.join('\n') + '\n'
}
