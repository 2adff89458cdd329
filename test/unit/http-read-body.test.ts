import { describe, expect, it } from 'vitest'
import { readBodyWithLimit } from '../../src/http/read-body'

const encoder = new TextEncoder()

/** A pull-based stream over `chunks` that records how many chunks were pulled and whether it was cancelled. */
function source(chunks: Uint8Array[]) {
  const state = { pulled: 0, cancelled: false as boolean, reason: undefined as unknown }
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (state.pulled < chunks.length) controller.enqueue(chunks[state.pulled++]!)
        else controller.close()
      },
      cancel(reason) {
        state.cancelled = true
        state.reason = reason
      },
    },
    { highWaterMark: 0 }
  )
  return { stream, state }
}

function bytes(...values: number[]): Uint8Array {
  return new Uint8Array(values)
}

/** `count` chunks of `size` bytes, numbered so their order is visible. */
function numberedChunks(count: number, size: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) =>
    new Uint8Array(size).map((_, j) => (i * size + j) % 256)
  )
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0))
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.byteLength
  }
  return out
}

async function drain(stream: ReadableStream<Uint8Array> | null): Promise<Uint8Array> {
  if (stream === null) return new Uint8Array(0)
  return new Uint8Array(await new Response(stream).arrayBuffer())
}

const message = (
  body: ReadableStream<Uint8Array> | null,
  headers: Record<string, string> = {}
) => ({
  body,
  headers: new Headers(headers),
})

describe('readBodyWithLimit', () => {
  describe('complete bodies', () => {
    it('reads a body under the limit from a Response', async () => {
      const response = new Response('hello world')
      const result = await readBodyWithLimit(response, 1024)
      expect(result.complete).toBe(true)
      if (!result.complete) return
      expect(new TextDecoder().decode(result.bytes)).toBe('hello world')
    })

    it('concatenates several chunks in order', async () => {
      const chunks = numberedChunks(5, 7)
      const { stream } = source(chunks)
      const result = await readBodyWithLimit(message(stream), 1000)
      expect(result).toEqual({ complete: true, bytes: concat(chunks) })
    })

    it('accepts a body of exactly the limit', async () => {
      const chunks = numberedChunks(4, 5)
      const { stream } = source(chunks)
      const result = await readBodyWithLimit(message(stream, { 'content-length': '20' }), 20)
      expect(result).toEqual({ complete: true, bytes: concat(chunks) })
    })

    it('reads a body with a correct Content-Length under the limit', async () => {
      const body = encoder.encode('{"a":1}')
      const { stream } = source([body])
      const result = await readBodyWithLimit(message(stream, { 'content-length': '7' }), 100)
      expect(result).toEqual({ complete: true, bytes: body })
    })

    it('ignores an unparseable Content-Length and reads within the limit', async () => {
      const { stream } = source([bytes(1, 2, 3)])
      const result = await readBodyWithLimit(message(stream, { 'content-length': 'abc' }), 10)
      expect(result).toEqual({ complete: true, bytes: bytes(1, 2, 3) })
    })

    it('skips empty chunks', async () => {
      const { stream } = source([bytes(), bytes(1), bytes(), bytes(2, 3)])
      const result = await readBodyWithLimit(message(stream), 3)
      expect(result).toEqual({ complete: true, bytes: bytes(1, 2, 3) })
    })
  })

  describe('empty bodies', () => {
    it('a null body is complete and empty', async () => {
      const result = await readBodyWithLimit(message(null), 10)
      expect(result.complete).toBe(true)
      if (!result.complete) return
      expect(result.bytes.byteLength).toBe(0)
    })

    it('a null body is complete even with a limit of 0', async () => {
      const result = await readBodyWithLimit(message(null, { 'content-length': '0' }), 0)
      expect(result).toEqual({ complete: true, bytes: new Uint8Array(0) })
    })

    it('an empty stream is complete and empty', async () => {
      const { stream } = source([])
      const result = await readBodyWithLimit(message(stream), 0)
      expect(result).toEqual({ complete: true, bytes: new Uint8Array(0) })
    })

    it('a 204 Response has no body', async () => {
      const result = await readBodyWithLimit(new Response(null, { status: 204 }), 10)
      expect(result).toEqual({ complete: true, bytes: new Uint8Array(0) })
    })
  })

  describe('declared Content-Length over the limit', () => {
    it('returns the untouched stream without reading it', async () => {
      const chunks = numberedChunks(3, 10)
      const { stream, state } = source(chunks)
      const result = await readBodyWithLimit(message(stream, { 'content-length': '30' }), 29)
      expect(result.complete).toBe(false)
      if (result.complete) return
      expect(result.stream).toBe(stream)
      expect(state.pulled).toBe(0)
      expect(await drain(result.stream)).toEqual(concat(chunks))
    })

    it('works for a Response body', async () => {
      const text = 'x'.repeat(5000)
      const response = new Response(text, { headers: { 'content-length': '5000' } })
      const result = await readBodyWithLimit(response, 100)
      expect(result.complete).toBe(false)
      if (result.complete) return
      expect(new TextDecoder().decode(await drain(result.stream))).toBe(text)
    })
  })

  describe('undeclared body growing past the limit', () => {
    it('is incomplete and the stream yields exactly the original bytes in order', async () => {
      const chunks = numberedChunks(10, 4)
      const { stream } = source(chunks)
      const result = await readBodyWithLimit(message(stream), 10)
      expect(result.complete).toBe(false)
      if (result.complete) return
      expect(await drain(result.stream)).toEqual(concat(chunks))
    })

    it('stops reading the source once past the limit', async () => {
      const chunks = numberedChunks(10, 4)
      const { stream, state } = source(chunks)
      const result = await readBodyWithLimit(message(stream), 10)
      expect(result.complete).toBe(false)
      // 3 chunks (12 bytes) take it past 10; the rest is left for the consumer.
      expect(state.pulled).toBeLessThan(chunks.length)
      expect(state.pulled).toBeGreaterThanOrEqual(3)
    })

    it('is incomplete when a single chunk is over the limit', async () => {
      const chunk = numberedChunks(1, 50)[0]!
      const { stream } = source([chunk])
      const result = await readBodyWithLimit(message(stream), 49)
      expect(result.complete).toBe(false)
      if (result.complete) return
      expect(await drain(result.stream)).toEqual(chunk)
    })

    it('is incomplete with a limit of 0 and any byte', async () => {
      const { stream } = source([bytes(42)])
      const result = await readBodyWithLimit(message(stream), 0)
      expect(result.complete).toBe(false)
      if (result.complete) return
      expect(await drain(result.stream)).toEqual(bytes(42))
    })

    it('is incomplete when the Content-Length understates the body', async () => {
      const chunks = numberedChunks(6, 10)
      const { stream } = source(chunks)
      const result = await readBodyWithLimit(message(stream, { 'content-length': '5' }), 25)
      expect(result.complete).toBe(false)
      if (result.complete) return
      expect(await drain(result.stream)).toEqual(concat(chunks))
    })

    it('works for a large Response body read in many chunks', async () => {
      const total = 256 * 1024
      const { stream } = source(numberedChunks(total / 1024, 1024))
      const response = new Response(stream)
      const result = await readBodyWithLimit(response, 10_000)
      expect(result.complete).toBe(false)
      if (result.complete) return
      const out = await drain(result.stream)
      expect(out.byteLength).toBe(total)
      expect(out).toEqual(concat(numberedChunks(total / 1024, 1024)))
    })

    it('cancelling the returned stream cancels the source', async () => {
      const { stream, state } = source(numberedChunks(10, 4))
      const result = await readBodyWithLimit(message(stream), 5)
      expect(result.complete).toBe(false)
      if (result.complete) return
      await result.stream!.cancel('client went away')
      expect(state.cancelled).toBe(true)
      expect(state.reason).toBe('client went away')
    })
  })
})
