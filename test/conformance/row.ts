/**
 * The conformance table's shape: one row per requirement, citing the RFC section it checks. The same
 * rows run inside workerd (test/integration/conformance.test.ts) and against `wrangler dev`
 * (test/e2e/conformance.test.ts), each through its own harness.
 */

/** A response as a client saw it, body read. */
export interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly body: Uint8Array
  readonly text: string
  /** Our own Cache-Status member (the first one), '' when absent. */
  readonly cacheStatus: string
}

export interface ConformanceHarness {
  /**
   * `/echo/<unique>/<name>` with response headers from `h-<field>` query parameters (see
   * tools/demo-origin/echo.ts): unique to this row and this run, so the e2e stack's state from other
   * rows and earlier runs never meets it. `prefix` places it under another cache route
   * (`/echo/<prefix>/...` is matched by the routes in wrangler.toml).
   */
  echo(name: string, headers?: Record<string, string>, extra?: string, prefix?: string): string
  /** Sends through the cache as one client (one colo); background work settles before it returns. */
  send(path: string, init?: RequestInit): Promise<Answer>
  /** How many requests the origin answered for this path (no query) in this run. */
  fetches(path: string): Promise<number>
  sleep(ms: number): Promise<unknown>
  /** Where the row runs: a few details (which tier answered) differ between the two. */
  readonly where: 'workerd' | 'e2e'
}

export interface ConformanceRow {
  /** Unique, kebab-case. */
  readonly id: string
  /** 'RFC 9111 §4.2.1' */
  readonly section: string
  /** The requirement in one line, as the RFC puts it. */
  readonly requirement: string
  readonly run: (h: ConformanceHarness) => Promise<void>
}

/** Our member of Cache-Status (RFC 9211 §2: the first member is the cache nearest the client). */
export function ourCacheStatus(headers: Headers): string {
  // Our members never hold a comma (details are tokens or short quoted words).
  return (headers.get('cache-status') ?? '').split(',')[0]!.trim()
}

export async function toAnswer(response: Response): Promise<Answer> {
  const body = new Uint8Array(await response.arrayBuffer())
  return {
    status: response.status,
    headers: response.headers,
    body,
    text: new TextDecoder().decode(body),
    cacheStatus: ourCacheStatus(response.headers),
  }
}
