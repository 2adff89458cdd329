/** RFC 9110 §7.6.1 hop-by-hop fields, plus ones proxies conventionally drop. */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
])

/** Hop-by-hop fields of a message: the fixed set plus any named in its Connection header. */
export function hopByHopFields(headers: Headers): ReadonlySet<string> {
  const connection = headers.get('connection')
  if (!connection) return HOP_BY_HOP
  const fields = new Set(HOP_BY_HOP)
  for (const name of connection.split(',')) {
    const trimmed = name.trim().toLowerCase()
    if (trimmed) fields.add(trimmed)
  }
  return fields
}

/** Field names to drop: a Set, or any test with the same shape. */
export interface FieldFilter {
  has(name: string): boolean
}

const NONE: FieldFilter = { has: () => false }

/** A copy of `headers` without hop-by-hop fields and without `extra` (lower-case names). */
export function withoutFields(headers: Headers, extra: FieldFilter = NONE): Headers {
  const drop = hopByHopFields(headers)
  const out = new Headers()
  for (const [name, value] of headers) {
    if (!drop.has(name) && !extra.has(name)) out.append(name, value)
  }
  return out
}

/** Lower-case, de-duplicated, sorted field names from a list-valued header such as Vary. */
export function parseFieldNames(value: string | null): string[] {
  if (!value) return []
  const names = new Set<string>()
  for (const part of value.split(',')) {
    const name = part.trim().toLowerCase()
    if (name) names.add(name)
  }
  return [...names].sort()
}
