import { createServer } from 'node:net'

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address()
      const bound = typeof address === 'object' && address ? address.port : 0
      server.close(() => (bound ? resolve(bound) : reject(new Error('no port assigned'))))
    })
  })
}

/**
 * A port that was free on 127.0.0.1 a moment ago. Another process may take it before the
 * caller binds it; callers that spawn servers should treat "address in use" as retryable.
 */
export function freePort(): Promise<number> {
  return listenOnce(0)
}

/** Whether `port` can be bound on 127.0.0.1 right now. */
export async function isPortFree(port: number): Promise<boolean> {
  try {
    await listenOnce(port)
    return true
  } catch {
    return false
  }
}

/** `preferred` if it is free, otherwise any free port. */
export async function preferredPort(preferred: number | undefined): Promise<number> {
  if (preferred && (await isPortFree(preferred))) return preferred
  return freePort()
}
