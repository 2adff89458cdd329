import { env } from 'cloudflare:workers'

/**
 * The real RATE_LIMITER namespace, except that every call to an object hangs (past any rule's
 * deadline): a chaos wrapper for the fail-open / fail-closed paths, not a mock of the limiter.
 */
export function hangingLimiter() {
  const never = () => new Promise<never>(() => {})
  return {
    idFromName: (name: string) => env.RATE_LIMITER!.idFromName(name),
    get: () => ({ lease: never, release: never }),
  }
}
