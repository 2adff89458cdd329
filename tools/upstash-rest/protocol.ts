/**
 * The Upstash REST wire format, as `@upstash/redis` speaks it (node_modules/@upstash/redis,
 * chunk-*.mjs: `HttpClient.request`, `decode`, `Command.exec`, `Pipeline.exec`):
 * - a command is a JSON array of strings, numbers and booleans (`Command` serializes other values
 *   with JSON.stringify, so a Uint8Array arrives as the text `{"0":…}`: binary arguments are not
 *   something the client can send);
 * - a reply is `{"result": …}` or `{"error": "…"}`; a non-2xx answer must carry a JSON body with
 *   `error`, or the client throws a JSON parse error instead;
 * - with `Upstash-Encoding: base64` (the client's default) every string in a result, nested
 *   arrays included, is base64 of its bytes, except the status `OK`, which `decode` passes
 *   through; numbers and nulls are left alone.
 */
import { ErrorReply } from 'redis'

export type Reply = { result: unknown } | { error: string }

export class ProtocolError extends Error {
  constructor(
    readonly status: 400 | 401 | 413 | 429 | 500 | 503,
    message: string
  ) {
    super(message)
    this.name = 'ProtocolError'
  }
}

/** Commands that block or change connection state: they would break the one shared connection. */
const REFUSED = new Set([
  ...['SUBSCRIBE', 'PSUBSCRIBE', 'SSUBSCRIBE', 'UNSUBSCRIBE', 'PUNSUBSCRIBE', 'SUNSUBSCRIBE'],
  ...['MONITOR', 'SYNC', 'PSYNC', 'REPLCONF', 'WAIT', 'WAITAOF'],
  ...['BLPOP', 'BRPOP', 'BRPOPLPUSH', 'BLMOVE', 'BLMPOP', 'BZPOPMIN', 'BZPOPMAX', 'BZMPOP'],
  ...['SELECT', 'QUIT', 'RESET', 'HELLO', 'AUTH', 'READONLY', 'READWRITE', 'SHUTDOWN'],
  ...['MULTI', 'EXEC', 'DISCARD', 'WATCH', 'UNWATCH'],
])
const REFUSED_CLIENT = new Set(['REPLY', 'TRACKING', 'CACHING', 'SETNAME', 'PAUSE', 'KILL'])

/** Why `args` may not run here, or undefined. */
export function refusal(args: readonly string[]): string | undefined {
  const name = args[0]!.toUpperCase()
  const why = 'is not supported by this endpoint (it blocks or changes connection state)'
  if (REFUSED.has(name)) {
    const hint = ['MULTI', 'EXEC', 'WATCH'].includes(name)
      ? '; use POST /multi-exec'
      : name === 'SUBSCRIBE' || name === 'PSUBSCRIBE'
        ? `; use /${name.toLowerCase()}/<name> (server-sent events)`
        : ''
    return `ERR command ${name} ${why}${hint}`
  }
  if (name === 'CLIENT' && REFUSED_CLIENT.has(args[1]?.toUpperCase() ?? '')) {
    return `ERR command CLIENT ${args[1]!.toUpperCase()} ${why}`
  }
  if (
    (name === 'XREAD' || name === 'XREADGROUP') &&
    args.some((arg) => arg.toUpperCase() === 'BLOCK')
  ) {
    return `ERR ${name} with BLOCK ${why}`
  }
  return undefined
}

function parseCommand(value: unknown, where: string): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new ProtocolError(400, `ERR ${where} must be a non-empty JSON array`)
  }
  return value.map((arg, i) => {
    if (typeof arg === 'string') return arg
    if (typeof arg === 'number' || typeof arg === 'boolean') return String(arg)
    throw new ProtocolError(
      400,
      `ERR ${where}, argument ${i}: expected a string, number or boolean, got ${arg === null ? 'null' : typeof arg}`
    )
  })
}

/** `POST /`: one command. */
export function parseSingle(body: unknown): string[] {
  return parseCommand(body, 'the command')
}

/** `POST /pipeline` and `POST /multi-exec`: a non-empty array of commands. */
export function parseBatch(body: unknown): string[][] {
  if (!Array.isArray(body) || body.length === 0) {
    throw new ProtocolError(400, 'ERR the body must be a non-empty JSON array of commands')
  }
  return body.map((command, i) => parseCommand(command, `command ${i}`))
}

/**
 * A Redis reply as JSON. Bulk strings come as Buffers (binary-safe), status replies as strings;
 * see the module comment for the base64 rule.
 */
export function encodeResult(value: unknown, base64: boolean): unknown {
  if (value === null || value === undefined) return null
  if (value instanceof Uint8Array) {
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength)
    return bytes.toString(base64 ? 'base64' : 'utf8')
  }
  if (typeof value === 'string') {
    return base64 && value !== 'OK' ? Buffer.from(value, 'utf8').toString('base64') : value
  }
  if (typeof value === 'number' || typeof value === 'boolean') return value
  if (typeof value === 'bigint') return Number(value)
  if (Array.isArray(value)) return value.map((item) => encodeResult(item, base64))
  // An error nested in an array (a Lua table holding an error reply): its text, as a string.
  if (value instanceof ErrorReply) return encodeResult(value.message, base64)
  return null
}

/** `{result}` for a reply, `{error}` for a Redis error reply or a failure to reach Redis. */
export function toReply(outcome: PromiseSettledResult<unknown>, base64: boolean): Reply {
  if (outcome.status === 'fulfilled') return { result: encodeResult(outcome.value, base64) }
  return { error: errorText(outcome.reason) }
}

export function errorText(error: unknown): string {
  if (error instanceof ErrorReply) return error.message
  return `ERR redis unavailable: ${error instanceof Error ? error.message : String(error)}`
}
