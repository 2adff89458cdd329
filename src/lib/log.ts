export type LogLevel = 'info' | 'warn' | 'error'

export type LogFields = Readonly<Record<string, unknown>>

/**
 * `error` is whatever was caught: always written as `String(error)` (`Name: message`), like any
 * other Error among the fields. Undefined fields are left out, as JSON.stringify does.
 */
function rendered(fields: LogFields): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(fields)) {
    out[key] =
      value instanceof Error || (key === 'error' && value !== undefined) ? String(value) : value
  }
  return out
}

/**
 * One JSON line, `{"level","event",...fields}`. Warnings and errors go to stderr, so
 * `wrangler dev --log-level warn` still shows them; info goes to stdout.
 */
function write(level: LogLevel, event: string, fields: LogFields): void {
  const line = JSON.stringify({ level, event, ...rendered(fields) })
  if (level === 'info') console.log(line)
  else console.error(line)
}

/** The Worker's and the Durable Objects' structured logs (Workers Logs indexes the JSON fields). */
export const log = {
  info: (event: string, fields: LogFields = {}): void => write('info', event, fields),
  warn: (event: string, fields: LogFields = {}): void => write('warn', event, fields),
  error: (event: string, fields: LogFields = {}): void => write('error', event, fields),
  /** Whether a line logged at sample rate `rate` (0 to 1) is written this time. */
  sampled: (rate: number): boolean => rate > 0 && Math.random() < rate,
}
