export type BodyRead =
  | { readonly complete: true; readonly bytes: Uint8Array }
  | { readonly complete: false; readonly stream: ReadableStream<Uint8Array> | null }

/**
 * Reads a body up to `maxBytes`. Bodies that declare or turn out to be larger are handed back as a
 * stream (what was read, then the rest) so they are served without being buffered or stored.
 */
export async function readBodyWithLimit(
  message: { readonly body: ReadableStream<Uint8Array> | null; readonly headers: Headers },
  maxBytes: number
): Promise<BodyRead> {
  const body = message.body
  if (body === null) return { complete: true, bytes: new Uint8Array(0) }
  const declared = Number(message.headers.get('content-length') ?? Number.NaN)
  if (declared > maxBytes) return { complete: false, stream: body }
  const reader = body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
    size += value.byteLength
    if (size > maxBytes) return { complete: false, stream: resume(chunks, reader) }
  }
  if (chunks.length === 1) return { complete: true, bytes: chunks[0]! }
  const bytes = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  return { complete: true, bytes }
}

function resume(
  head: Uint8Array[],
  reader: ReadableStreamDefaultReader<Uint8Array>
): ReadableStream<Uint8Array> {
  let i = 0
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (i < head.length) {
        controller.enqueue(head[i++]!)
        return
      }
      const { done, value } = await reader.read()
      if (done) controller.close()
      else controller.enqueue(value)
    },
    cancel(reason) {
      return reader.cancel(reason)
    },
  })
}
