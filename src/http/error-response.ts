/** A small JSON error body, the same shape everywhere: `{ "error": { "code", "message" } }`. */
export function errorResponse(
  status: number,
  code: string,
  message: string,
  headers?: HeadersInit
): Response {
  const out = new Headers(headers)
  out.set('content-type', 'application/json; charset=utf-8')
  out.set('cache-control', 'no-store')
  return new Response(JSON.stringify({ error: { code, message } }), { status, headers: out })
}
