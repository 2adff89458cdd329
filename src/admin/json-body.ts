import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { z } from 'zod'
import { readBodyWithLimit } from '../http/read-body'

/** Reads a JSON body no larger than `maxBytes` and validates it; every failure is a 4xx naming the problem. */
export async function parseJsonBody<S extends z.ZodType>(
  c: Context,
  schema: S,
  maxBytes: number
): Promise<z.output<S>> {
  const type = c.req.header('content-type') ?? ''
  if (!/^application\/json\b/i.test(type)) {
    throw new HTTPException(415, { message: 'Content-Type must be application/json.' })
  }
  // Read at most maxBytes, whatever Content-Length claims (chunked bodies have none).
  const body = await readBodyWithLimit(c.req.raw, maxBytes)
  if (!body.complete) {
    await body.stream?.cancel()
    throw new HTTPException(413, { message: `Body exceeds ${maxBytes} bytes.` })
  }
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder().decode(body.bytes))
  } catch {
    throw new HTTPException(400, { message: 'Body is not valid JSON.' })
  }
  const parsed = schema.safeParse(json)
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((issue) => `${issue.path.length ? issue.path.join('.') : '(body)'}: ${issue.message}`)
      .join('; ')
    throw new HTTPException(400, { message: `Invalid body: ${problems}` })
  }
  return parsed.data
}
