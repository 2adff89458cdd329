/**
 * The hit path without HTTP around it: our Worker (the same bindings and config, started with
 * wrangler.toml) plus two loop routes that answer once they ran `n` iterations in this isolate.
 * `/__bench/hit-loop` asks our app for `u` each time (a memory hit, once primed); `/__bench/static-loop`
 * builds the static Worker's response each time. Both make the same Request and read the whole body.
 * Timed from outside (a Worker's clock stands still while it runs without I/O), the difference is the
 * JS a memory hit costs over answering at all, with no `wrangler dev` proxy or socket in it.
 * Only the bench starts this file (as wrangler's script argument); it is never deployed.
 */
import worker from '../../src/index'

export * from '../../src/index'

// The static Worker's response (bench/workers/static-worker.ts).
const BODY = JSON.stringify({ id: 'static', padding: 'x'.repeat(640) })
const HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'public, s-maxage=3600',
}

export default {
  async fetch(request, env, ctx): Promise<Response> {
    const url = new URL(request.url)
    const loop = url.pathname === '/__bench/hit-loop' || url.pathname === '/__bench/static-loop'
    if (!loop) return worker.fetch(request, env, ctx)
    const n = Math.min(100_000, Math.max(1, Number(url.searchParams.get('n')) || 1))
    const target = url.origin + (url.searchParams.get('u') ?? '/')
    let last = ''
    for (let i = 0; i < n; i++) {
      const asked = new Request(target, { headers: request.headers })
      const answer =
        url.pathname === '/__bench/hit-loop'
          ? await worker.fetch(asked, env, ctx)
          : new Response(BODY, { headers: HEADERS })
      await answer.arrayBuffer()
      last = answer.headers.get('cache-status') ?? ''
    }
    // The last answer's Cache-Status: the bench checks the loop measured memory hits.
    return Response.json({ n, cacheStatus: last })
  },
} satisfies ExportedHandler<Env>
