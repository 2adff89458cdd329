import parsePrometheusTextFormat, { type PrometheusFamily } from 'parse-prometheus-text-format'

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/

export interface Exposition {
  /** Families as the parser returns them (histograms with their TYPE and HELP). */
  readonly families: PrometheusFamily[]
  /** Every sample by series id: `name{a="x",b="y"}`, labels sorted; histograms as `_bucket/_sum/_count`. */
  readonly values: Map<string, number>
}

function numeric(value: string | undefined, where: string): number {
  const number = value === '+Inf' ? Infinity : value === '-Inf' ? -Infinity : Number(value)
  if (value === undefined || value === '' || (Number.isNaN(number) && value !== 'NaN')) {
    throw new Error(`${where}: not a number: ${JSON.stringify(value)}`)
  }
  return number
}

function seriesId(name: string, labels: Record<string, string> = {}): string {
  const pairs = Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${v}"`)
  return pairs.length ? `${name}{${pairs.join(',')}}` : name
}

/**
 * Parses Prometheus text with parse-prometheus-text-format (a port of the Prometheus Python
 * client's parser; it throws on a malformed line) and checks what it lets through: metric and label
 * names, every value a number, every family with HELP and TYPE, counters not negative, histogram
 * buckets cumulative with `+Inf` equal to `_count`.
 *
 * Its one gap: it folds every label set of a histogram into a single set of buckets (and drops the
 * labelled `_sum`/`_count`). So histogram samples are read from a second pass of the same parser
 * over the text without the histogram TYPE lines, where `_bucket`, `_sum` and `_count` come back as
 * plain samples with all their labels.
 */
export function parseExposition(text: string): Exposition {
  const families = parsePrometheusTextFormat(text)
  const histograms = new Set<string>()
  const values = new Map<string, number>()
  for (const family of families) {
    const where = family.name
    if (!METRIC_NAME.test(family.name)) throw new Error(`bad metric name ${family.name}`)
    if (family.type === 'UNTYPED') throw new Error(`${where}: no # TYPE line`)
    if (!family.help) throw new Error(`${where}: no # HELP line`)
    if (family.type === 'HISTOGRAM') {
      histograms.add(family.name)
      continue
    }
    for (const sample of family.metrics) {
      for (const label of Object.keys(sample.labels ?? {})) {
        if (!LABEL_NAME.test(label)) throw new Error(`${where}: bad label name ${label}`)
      }
      const value = numeric(sample.value, where)
      if (family.type === 'COUNTER' && !(value >= 0)) throw new Error(`${where}: negative`)
      const id = seriesId(family.name, sample.labels)
      if (values.has(id)) throw new Error(`${id} appears twice`)
      values.set(id, value)
    }
  }
  const untyped = text
    .split('\n')
    .filter((line) => !/^# TYPE \S+ histogram$/.test(line))
    .join('\n')
  for (const family of parsePrometheusTextFormat(untyped)) {
    const base = family.name.replace(/_(bucket|sum|count)$/, '')
    if (!histograms.has(base) || base === family.name) continue
    for (const sample of family.metrics) {
      values.set(seriesId(family.name, sample.labels), numeric(sample.value, family.name))
    }
  }
  for (const name of histograms) checkHistogram(name, values)
  return { families, values }
}

function checkHistogram(name: string, values: Map<string, number>): void {
  const series = new Map<string, [number, number][]>()
  for (const [id, value] of values) {
    const match = new RegExp(`^${name}_bucket\\{(.*)\\}$`).exec(id)
    if (!match) continue
    const le = /(?:^|,)le="([^"]*)"/.exec(match[1]!)
    if (!le) throw new Error(`${id}: bucket without le`)
    const rest = match[1]!.replace(/(?:^|,)le="[^"]*"/, '').replace(/^,/, '')
    const buckets = series.get(rest) ?? []
    buckets.push([numeric(le[1], `${id} le`), value])
    series.set(rest, buckets)
  }
  for (const [labels, buckets] of series) {
    buckets.sort((a, b) => a[0] - b[0])
    const where = `${name}{${labels}}`
    if (buckets[buckets.length - 1]![0] !== Infinity) throw new Error(`${where}: no +Inf bucket`)
    for (let i = 1; i < buckets.length; i++) {
      if (buckets[i]![1] < buckets[i - 1]![1]) throw new Error(`${where}: buckets not cumulative`)
    }
    const suffix = labels ? `{${labels}}` : ''
    const count = values.get(`${name}_count${suffix}`)
    if (count === undefined || values.get(`${name}_sum${suffix}`) === undefined)
      throw new Error(`${where}: no _sum or _count`)
    if (buckets[buckets.length - 1]![1] !== count) throw new Error(`${where}: +Inf != _count`)
  }
}

/** `after - before` for every series that changed. */
export function delta(
  before: Map<string, number>,
  after: Map<string, number>
): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [key, value] of after) {
    const change = value - (before.get(key) ?? 0)
    if (change !== 0) out[key] = Math.round(change * 1e9) / 1e9
  }
  return out
}
