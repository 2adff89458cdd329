import { isNotModified, isNullBodyStatus } from './http'
import { badRequest, JSON_TYPE } from './responses'
import type { DemoOriginState } from './state'

/**
 * A test harness: reflects the request, sets response headers and status from the query (`h-<name>`
 * on every answer, `h2-<name>` from the path's second fetch on, `h304-<name>` on a 304 only;
 * `status2` from the second fetch on; `delay=<ms>` answers late; `body-b64` replaces the echo with exactly those bytes).
 */
export async function echo(request: Request, n: number, state: DemoOriginState): Promise<Response> {
  const url = new URL(request.url)
  const headers = new Headers({ 'content-type': JSON_TYPE })
  const query: Record<string, string | string[]> = {}
  for (const key of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(key)
    query[key] = values.length === 1 ? values[0]! : values
  }
  try {
    const overridden = new Set<string>()
    for (const [key, value] of url.searchParams) {
      if (!key.startsWith('h-') || key.length === 2) continue
      const name = key.slice(2).toLowerCase()
      // The first h-<name> replaces a default; later ones append (several Set-Cookie, say).
      if (overridden.has(name)) headers.append(name, value)
      else headers.set(name, value)
      overridden.add(name)
    }
    // h2-<name>: from this path's second fetch on (an origin that changes its mind about a URL).
    if ((state.byPath[url.pathname] ?? 0) >= 2) {
      for (const [key, value] of url.searchParams) {
        if (key.startsWith('h2-') && key.length > 3) headers.set(key.slice(3).toLowerCase(), value)
      }
    }
  } catch (error) {
    return badRequest(`invalid h-* header: ${(error as Error).message}`)
  }
  let status = 200
  // status2=<code>: the status from the path's second fetch on (an origin that starts failing).
  const secondOrLater = (state.byPath[url.pathname] ?? 0) >= 2
  const statusRaw =
    (secondOrLater ? url.searchParams.get('status2') : null) ?? url.searchParams.get('status')
  if (statusRaw !== null) {
    status = Number(statusRaw)
    if (!/^\d{3}$/.test(statusRaw) || status < 200 || status > 599) {
      return badRequest('status must be an integer in 200..599')
    }
  }
  const method = request.method
  if ((method === 'GET' || method === 'HEAD') && status === 200) {
    const validators = { etag: headers.get('etag'), lastModified: headers.get('last-modified') }
    if (isNotModified(request.headers, validators)) {
      state.notModified++
      headers.delete('content-type')
      // h304-<name>: a field only the 304 carries (a revalidation that changes the stored headers).
      for (const [key, value] of url.searchParams) {
        if (key.startsWith('h304-') && key.length > 5) headers.set(key.slice(5), value)
      }
      return new Response(null, { status: 304, headers })
    }
  }
  // delay=<ms> (at most 10 s): a slow answer for this request only (a fill racing a purge).
  const delayMs = Math.min(10_000, Math.max(0, Number(url.searchParams.get('delay')) || 0))
  if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs))
  const bodyLength = request.body ? (await request.arrayBuffer()).byteLength : 0
  // body-b64=<base64>: exactly these bytes (a gzip stream, an unknown coding) instead of the echo.
  const raw = url.searchParams.get('body-b64')
  if (raw !== null) {
    const bytes = Uint8Array.from(atob(raw), (ch) => ch.charCodeAt(0))
    return new Response(isNullBodyStatus(status) ? null : bytes, { status, headers })
  }
  const body = JSON.stringify({
    method,
    path: url.pathname,
    query,
    headers: Object.fromEntries(request.headers),
    url: request.url,
    n,
    id: crypto.randomUUID(),
    bodyLength,
  })
  if (status === 304) state.notModified++
  return new Response(isNullBodyStatus(status) ? null : body, { status, headers })
}
