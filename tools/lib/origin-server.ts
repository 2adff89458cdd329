import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { createDemoOrigin, type DemoOrigin } from '../demo-origin/app'

export interface DemoOriginServer extends DemoOrigin {
  url: string
  port: number
  close(): Promise<void>
}

/** Serves the demo origin in this process on 127.0.0.1 (port 0 = any free port). */
export function serveDemoOrigin(
  options: { port?: number; latencyMs?: number } = {}
): Promise<DemoOriginServer> {
  const origin = createDemoOrigin({ latencyMs: options.latencyMs })
  return new Promise((resolve, reject) => {
    const server = serve(
      { fetch: origin.app.fetch, hostname: '127.0.0.1', port: options.port ?? 0 },
      (info: AddressInfo) => {
        server.off('error', reject)
        const url = `http://127.0.0.1:${info.port}`
        let closing: Promise<void> | undefined
        const close = () =>
          (closing ??= new Promise<void>((done) => {
            // Hung requests would keep server.close() waiting for up to a minute.
            origin.state.releaseHung()
            server.close(() => done())
            server.closeAllConnections()
          }))
        resolve({ ...origin, url, port: info.port, close })
      }
    ) as Server
    server.once('error', reject)
  })
}
