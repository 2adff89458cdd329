import type { Config } from '../config/load-config'
import type { CompiledRoute } from '../config/route-matcher'
import { selectingValue } from '../cache/cache-key'
import { withoutFields } from '../http/headers'
import { EdgeCacheError } from '../lib/errors'

/** Headers a client may send but must never reach the origin through us (routing and proxy metadata). */
const NEVER_FORWARDED = /^(?:host|forwarded|x-forwarded-.*|x-real-ip|cf-.*|cdn-loop)$/

export class OpenProxyError extends EdgeCacheError {
  static readonly code = 'E_OPEN_PROXY'
  constructor(message: string) {
    super(OpenProxyError.code, message)
    this.name = 'OpenProxyError'
  }
}

/**
 * The origin URL for a request path and (already normalised) query. Built by string concatenation on
 * the configured origin, never by resolving against the request, so `//evil.example/x`, absolute-form
 * request targets, Host and X-Forwarded-* cannot choose another host.
 */
export function originUrlFor(config: Config, path: string, query: string): URL {
  const base = config.originUrl
  const basePath = base.pathname.endsWith('/') ? base.pathname.slice(0, -1) : base.pathname
  const url = new URL(`${base.origin}${basePath}${path}${query}`)
  if (url.origin !== base.origin) throw new OpenProxyError(`refusing to fetch ${url.origin}`)
  return url
}

/**
 * Never forwarded on a fill, whatever a route lists: the fill asks for the whole representation
 * (a Range would make every fill a 206, never stored) and sets its own validators.
 */
const NOT_ON_FILLS: ReadonlySet<string> = new Set([
  'range',
  'if-range',
  'if-match',
  'if-none-match',
  'if-modified-since',
  'if-unmodified-since',
])

/** Request headers for a cacheable fetch: only the key headers and the route's allow-list (no poisoning). */
export function cacheableOriginHeaders(
  request: Headers,
  route: CompiledRoute,
  config: Config
): Headers {
  const out = new Headers()
  const allowed = route.forwardHeaders ?? config.origin.forwardHeaders
  for (const name of [...route.key.headers, ...allowed]) {
    if (name === 'accept-encoding' || NOT_ON_FILLS.has(name)) continue
    const value = request.get(name)
    // The value the variant key holds (Accept-Language canonical, whitespace normalised): the origin
    // negotiates on exactly what the key says, so one stored variant never answers another's value.
    if (value !== null && !NEVER_FORWARDED.test(name)) out.set(name, selectingValue(name, value))
  }
  // Accept-Encoding goes in its canonical form (src/http/accept.ts) whenever the client sent one:
  // the origin negotiates the coding for exactly the value a `Vary: Accept-Encoding` variant key
  // holds. None from the client: none to the origin.
  const acceptEncoding = request.get('accept-encoding')
  if (acceptEncoding !== null) {
    out.set('accept-encoding', selectingValue('accept-encoding', acceptEncoding))
  }
  // RFC 9111 §3.5 routes cache answers to authorised requests: the origin decides on the credential.
  if (route.authorization === 'rfc9111') {
    const credential = request.get('authorization')
    if (credential !== null) out.set('authorization', credential)
  }
  return out
}

/** Request headers for a pass-through (uncached) request: end-to-end headers minus proxy metadata. */
export function passThroughHeaders(request: Headers): Headers {
  return withoutFields(request, { has: (name) => NEVER_FORWARDED.test(name) })
}

export interface OriginResult {
  readonly response: Response
  readonly requestTime: number
  readonly responseTime: number
}

/** Fetches the origin with a deadline covering headers and body; redirects are passed to the client. */
export async function fetchOrigin(
  url: URL,
  init: { method: string; headers: Headers; body?: BodyInit | null },
  timeoutMs: number
): Promise<OriginResult> {
  const requestTime = Date.now()
  const response = await fetch(url, {
    method: init.method,
    headers: init.headers,
    body: init.body ?? null,
    redirect: 'manual',
    // The origin's bytes as it sent them: gzip/br bodies are not decoded (the stored copy and every
    // answer carry the origin's Content-Encoding and Content-Length), unknown codings pass untouched.
    encodeResponseBody: 'manual',
    signal: AbortSignal.timeout(timeoutMs),
  })
  return { response, requestTime, responseTime: Date.now() }
}
