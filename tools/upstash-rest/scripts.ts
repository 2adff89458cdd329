/**
 * Lua shebang flags Upstash accepts but a stock redis-server rejects.
 *
 * `@upstash/ratelimit` starts every script with `#!lua flags=allow-key-locking`, an Upstash-only
 * flag: Redis 7 answers `ERR Unexpected flag in script shebang`. We drop unknown flags before
 * the script reaches Redis and keep a map from the SHA the client computed (of the original text)
 * to the SHA Redis knows (of the rewritten text), so `EVALSHA <original sha>` works after an
 * `EVAL` or `SCRIPT LOAD`, as on Upstash.
 */
import { createHash } from 'node:crypto'

/** The flags of Redis 7 (https://redis.io/docs/latest/develop/programmability/lua-api/). */
const REDIS_FLAGS = new Set([
  'no-writes',
  'allow-oom',
  'allow-stale',
  'no-cluster',
  'allow-cross-slot-keys',
])

const SHEBANG = /^#!lua([^\n]*)/

export function sha1Hex(text: string): string {
  return createHash('sha1').update(text, 'utf8').digest('hex')
}

/** `script` without the shebang flags redis-server does not know (the same string if none). */
export function stripUnknownFlags(script: string): string {
  const match = SHEBANG.exec(script)
  if (!match) return script
  let changed = false
  const options = match[1]!
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((option) => {
      if (!option.startsWith('flags=')) return option
      const flags = option.slice('flags='.length).split(',')
      const kept = flags.filter((flag) => REDIS_FLAGS.has(flag))
      if (kept.length === flags.length) return option
      changed = true
      return kept.length ? `flags=${kept.join(',')}` : ''
    })
    .filter(Boolean)
  if (!changed) return script
  return `#!lua${options.length ? ` ${options.join(' ')}` : ''}${script.slice(match[0].length)}`
}

/** The client's SHA → Redis's SHA, for scripts whose text we changed. */
export class ScriptShas {
  readonly #toRedis = new Map<string, string>()

  /** The text to send to Redis; remembers the SHA translation when the text changed. */
  register(script: string): string {
    const rewritten = stripUnknownFlags(script)
    if (rewritten !== script) this.#toRedis.set(sha1Hex(script), sha1Hex(rewritten))
    return rewritten
  }

  /** The SHA Redis knows for a SHA the client sent. */
  toRedis(sha: string): string {
    return this.#toRedis.get(sha.toLowerCase()) ?? sha
  }
}

/**
 * The command to send to Redis and, for `SCRIPT LOAD`, the reply to give instead of Redis's
 * (the SHA of the text the client sent, which it compares with its own).
 */
export function translateScripts(
  args: string[],
  shas: ScriptShas
): { args: string[]; reply?: string } {
  const name = args[0]!.toUpperCase()
  if ((name === 'EVAL' || name === 'EVAL_RO') && args.length > 1) {
    return { args: [args[0]!, shas.register(args[1]!), ...args.slice(2)] }
  }
  if ((name === 'EVALSHA' || name === 'EVALSHA_RO') && args.length > 1) {
    return { args: [args[0]!, shas.toRedis(args[1]!), ...args.slice(2)] }
  }
  if (name === 'SCRIPT' && args.length > 2) {
    const sub = args[1]!.toUpperCase()
    if (sub === 'LOAD' && args.length === 3) {
      return { args: [args[0]!, args[1]!, shas.register(args[2]!)], reply: sha1Hex(args[2]!) }
    }
    if (sub === 'EXISTS') {
      return { args: [args[0]!, args[1]!, ...args.slice(2).map((sha) => shas.toRedis(sha))] }
    }
  }
  return { args }
}
