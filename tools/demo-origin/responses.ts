/** Response helpers shared by the demo origin's routes. */
import type { Context } from 'hono'
import { z } from 'zod'

export const JSON_TYPE = 'application/json; charset=utf-8'

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': JSON_TYPE, ...headers },
  })
}

export async function readJson(c: Context): Promise<unknown> {
  try {
    return await c.req.json()
  } catch {
    return undefined
  }
}

export function badRequest(error: z.ZodError | string): Response {
  return json({ error: typeof error === 'string' ? error : z.prettifyError(error) }, 400)
}
