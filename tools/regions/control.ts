/**
 * The regions' control API (JSON, 127.0.0.1 only):
 *
 *   GET  /regions                   every region: name, url, redisUrl, up, fault, latencyMs, stats,
 *                                   commands (by name, as Upstash bills them), subscriptions (open)
 *   GET  /regions/:name             one region
 *   POST /regions/:name/stop        kill its redis-server and close its endpoint (connection refused)
 *   POST /regions/:name/start       both back on the same ports, empty
 *   POST /regions/:name/kill-redis  only its redis-server dies: the endpoint answers 503
 *   POST /regions/:name/fault       {"down"?, "extraLatencyMs"?, "errorRate"?} replaces the fault
 *   POST /regions/:name/partition   cut off, data kept: every request answers 503 (fault `down`)
 *                                   while its redis-server keeps running with everything it holds
 *   POST /regions/:name/heal        the partition ends (other faults stay): the same data is back
 *   POST /regions/reset             every region up, faults cleared, counters zeroed (a partitioned
 *                                   region heals with its data; a stopped one starts empty)
 *
 * A partition is not an outage: `stop` and `kill-redis` lose the region's data, so a region that
 * missed purges comes back empty and cannot serve what they removed. A partitioned region comes back
 * with its log and its L2 as they were when it was cut off, which is what catch-up must repair.
 */
import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { z } from 'zod'
import type { SimulatedRegion } from './region'

export const faultSchema = z.strictObject({
  down: z.boolean().optional(),
  extraLatencyMs: z.number().min(0).max(600_000).optional(),
  errorRate: z.number().min(0).max(1).optional(),
})

export interface ControlTarget {
  region(name: string): SimulatedRegion | undefined
  all(): readonly SimulatedRegion[]
  reset(): Promise<void>
}

export function createControlApp(target: ControlTarget): Hono {
  const app = new Hono()
  app.onError((error, c) => {
    if (error instanceof HTTPException) return c.json({ error: error.message }, error.status)
    return c.json({ error: error.message }, 500)
  })
  app.notFound((c) => c.json({ error: `unknown endpoint ${c.req.method} ${c.req.path}` }, 404))

  const region = (name: string) => {
    const found = target.region(name)
    if (!found) {
      const known = target.all().map((r) => r.name)
      throw new HTTPException(404, {
        message: `unknown region ${name} (known: ${known.join(', ')})`,
      })
    }
    return found
  }
  const all = () => ({ regions: target.all().map((r) => r.status()) })

  app.get('/regions', (c) => c.json(all()))
  app.post('/regions/reset', async (c) => {
    await target.reset()
    return c.json(all())
  })
  app.get('/regions/:name', (c) => c.json(region(c.req.param('name')).status()))
  app.post('/regions/:name/stop', async (c) => {
    const found = region(c.req.param('name'))
    await found.stop()
    return c.json(found.status())
  })
  app.post('/regions/:name/start', async (c) => {
    const found = region(c.req.param('name'))
    await found.start()
    return c.json(found.status())
  })
  app.post('/regions/:name/kill-redis', async (c) => {
    const found = region(c.req.param('name'))
    await found.killRedis()
    return c.json(found.status())
  })
  app.post('/regions/:name/partition', (c) => {
    const found = region(c.req.param('name'))
    found.setFault({ ...found.status().fault, down: true })
    return c.json(found.status())
  })
  app.post('/regions/:name/heal', (c) => {
    const found = region(c.req.param('name'))
    const { down: _down, ...rest } = found.status().fault
    found.setFault(rest)
    return c.json(found.status())
  })
  app.post('/regions/:name/fault', async (c) => {
    const found = region(c.req.param('name'))
    let body: unknown
    try {
      body = await c.req.json()
    } catch {
      throw new HTTPException(400, { message: 'the body must be JSON' })
    }
    const parsed = faultSchema.safeParse(body)
    if (!parsed.success) {
      const why = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`)
      throw new HTTPException(400, { message: `invalid fault: ${why.join('; ')}` })
    }
    found.setFault(parsed.data)
    return c.json(found.status())
  })
  return app
}
