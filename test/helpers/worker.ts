import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import worker from '../../src/index'

export const ORIGIN = 'http://origin.test'
export const ADMIN_TOKEN = 'test-admin-token'

/**
 * Sends a request through the Worker and waits for its background work (L1 writes, refreshes), so the
 * next request sees what this one stored.
 */
/**
 * The bindings of the current test: a new object per test, so its config, and with it the isolate's
 * memory tier, are created afresh (storage is cleared by `reset()`, memory is not).
 */
let testEnv: Cloudflare.Env = { ...env }

export function freshEnv(): void {
  testEnv = { ...env }
}

export async function send(
  path: string,
  init?: RequestInit,
  base = 'https://cache.test',
  bindings: object = testEnv
): Promise<Response> {
  const ctx = createExecutionContext()
  const response = await worker.fetch(new Request(new URL(path, base), init), bindings, ctx)
  // Read the body before waiting: background work may depend on the response being consumed.
  const body = await response.arrayBuffer()
  await waitOnExecutionContext(ctx)
  return new Response(response.status === 304 || init?.method === 'HEAD' ? null : body, {
    status: response.status,
    headers: response.headers,
  })
}

export async function json<T = Record<string, unknown>>(response: Response): Promise<T> {
  return (await response.json()) as T
}

export interface OriginStats {
  fetches: number
  byPath: Record<string, number>
  notModified: number
}

export async function originStats(): Promise<OriginStats> {
  return (await (await fetch(`${ORIGIN}/__origin/stats`)).json()) as OriginStats
}

export async function originControl(
  path: 'reset' | 'fail' | 'latency',
  body?: unknown
): Promise<void> {
  const response = await fetch(`${ORIGIN}/__origin/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (!response.ok) throw new Error(`origin control ${path}: ${response.status}`)
  await response.arrayBuffer()
}

/** `/echo/<name>` with response headers set through `h-<field>` query parameters. */
export function echo(name: string, headers: Record<string, string> = {}, extra = ''): string {
  const query = new URLSearchParams()
  for (const [field, value] of Object.entries(headers)) query.set(`h-${field}`, value)
  const qs = query.toString()
  return `/echo/${name}${qs || extra ? '?' : ''}${qs}${qs && extra ? '&' : ''}${extra}`
}

export function admin(path: string, init: RequestInit = {}, token: string | null = ADMIN_TOKEN) {
  const headers = new Headers(init.headers)
  if (token !== null) headers.set('authorization', `Bearer ${token}`)
  return send(`/_cache${path}`, { ...init, headers })
}

/** POST /_cache/purge with a JSON body (the default token). */
export function purgeUrls(urls: readonly string[]): Promise<Response> {
  return admin('/purge', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ urls }),
  })
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The test bindings with CACHE_CONFIG changed by `patch` (a new env object: its config is parsed anew). */
export function envWithConfig(patch: (config: Record<string, unknown>) => void): object {
  const config = structuredClone(env.CACHE_CONFIG) as Record<string, unknown>
  patch(config)
  return { ...env, CACHE_CONFIG: config }
}

/** The response's Cache-Status field ('' when absent). */
export function cacheStatus(response: Response): string {
  return response.headers.get('cache-status') ?? ''
}
