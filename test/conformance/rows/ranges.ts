import { expect } from 'vitest'
import type { Answer, ConformanceHarness, ConformanceRow } from '../row'

/** The stored representation: 36 known bytes (the echo's `body-b64`), so every part can be checked. */
const BODY = 'abcdefghijklmnopqrstuvwxyz0123456789'
const BYTES = `body-b64=${encodeURIComponent(btoa(BODY))}`
const FRESH = { 'cache-control': 'max-age=600' }

/** Stores BODY under a new path (with `headers` on the origin's answer) and returns the path. */
async function stored(
  h: ConformanceHarness,
  headers: Record<string, string> = {}
): Promise<string> {
  const path = h.echo('r', { ...FRESH, ...headers }, BYTES)
  const first = await h.send(path)
  expect(first.status).toBe(200)
  expect(first.cacheStatus).toMatch(/stored/)
  return path
}

function ranged(h: ConformanceHarness, path: string, headers: Record<string, string>) {
  return h.send(path, { headers })
}

/** A 206 with exactly BODY[first..last] and the fields that describe it. */
function expectPart(answer: Answer, first: number, last: number): void {
  expect(answer.status).toBe(206)
  expect(answer.headers.get('content-range')).toBe(`bytes ${first}-${last}/${BODY.length}`)
  expect(answer.headers.get('content-length')).toBe(String(last - first + 1))
  expect(answer.text).toBe(BODY.slice(first, last + 1))
}

/** The whole stored 200, Range ignored. */
function expectWhole(answer: Answer): void {
  expect(answer.status).toBe(200)
  expect(answer.headers.get('content-range')).toBeNull()
  expect(answer.text).toBe(BODY)
}

/** A Range request against a stored copy: one row per form. */
function rangeRow(
  id: string,
  requirement: string,
  range: string,
  expected: [number, number] | 'whole' | 416,
  section = 'RFC 9110 §14.1.2'
): ConformanceRow {
  return {
    id,
    section,
    requirement,
    run: async (h) => {
      const path = await stored(h)
      const answer = await ranged(h, path, { range })
      if (expected === 'whole') expectWhole(answer)
      else if (expected === 416) {
        expect(answer.status).toBe(416)
        expect(answer.headers.get('content-range')).toBe(`bytes */${BODY.length}`)
        expect(answer.body.byteLength).toBe(0)
      } else expectPart(answer, ...expected)
      expect(answer.cacheStatus).toMatch(/hit/)
      expect(await h.fetches(path)).toBe(1)
    },
  }
}

const now = () => Math.floor(Date.now() / 1000) * 1000

export const rangeRows: ConformanceRow[] = [
  rangeRow(
    'range-single-from-cache',
    'a single byte range of a stored 200 is answered 206 from the cache with its Content-Range',
    'bytes=0-4',
    [0, 4]
  ),
  rangeRow(
    'range-suffix',
    'a suffix range (bytes=-N) selects the last N bytes',
    'bytes=-5',
    [31, 35]
  ),
  rangeRow(
    'range-open-ended',
    'an open-ended range (bytes=N-) selects from N to the end',
    'bytes=30-',
    [30, 35]
  ),
  rangeRow(
    'range-last-pos-clamped',
    'a last-pos at or beyond the end is clamped to the last byte',
    'bytes=10-999999',
    [10, 35]
  ),
  rangeRow(
    'range-suffix-longer-than-body',
    'a suffix longer than the representation selects all of it',
    'bytes=-1000',
    [0, 35]
  ),
  rangeRow(
    'range-unsatisfiable-first-pos',
    'a first-pos at or past the end is unsatisfiable: 416 with Content-Range bytes */length',
    `bytes=${BODY.length}-`,
    416,
    'RFC 9110 §15.5.17'
  ),
  rangeRow(
    'range-unsatisfiable-suffix-zero',
    'bytes=-0 is unsatisfiable: 416 with Content-Range bytes */length',
    'bytes=-0',
    416,
    'RFC 9110 §14.1.1'
  ),
  rangeRow(
    'range-invalid-ignored',
    'an invalid range (last-pos before first-pos) is ignored: the whole 200',
    'bytes=9-3',
    'whole',
    'RFC 9110 §14.2'
  ),
  rangeRow(
    'range-other-unit-ignored',
    'a range unit other than bytes is ignored: the whole 200',
    'items=0-4',
    'whole',
    'RFC 9110 §14.2'
  ),
  rangeRow(
    'range-multiple-whole',
    'several ranges are answered with the whole 200 (a server MAY ignore Range)',
    'bytes=0-1,4-5',
    'whole',
    'RFC 9110 §14.2'
  ),
  {
    id: 'range-accept-ranges',
    section: 'RFC 9110 §14.3',
    requirement: 'a stored 200 is sent with Accept-Ranges: bytes (HEAD too)',
    run: async (h) => {
      const path = await stored(h)
      const hit = await h.send(path)
      expect(hit.cacheStatus).toMatch(/hit/)
      expect(hit.headers.get('accept-ranges')).toBe('bytes')
      const head = await h.send(path, { method: 'HEAD' })
      expect(head.headers.get('accept-ranges')).toBe('bytes')
    },
  },
  {
    id: 'range-content-length',
    section: 'RFC 9110 §8.6, §14.4',
    requirement: "a 206's Content-Length is the part's length, not the representation's",
    run: async (h) => {
      const path = await stored(h)
      for (const [range, length] of [
        ['bytes=0-0', 1],
        ['bytes=5-14', 10],
        ['bytes=-36', 36],
        ['bytes=35-', 1],
      ] as const) {
        const answer = await ranged(h, path, { range })
        expect(answer.status).toBe(206)
        expect(answer.headers.get('content-length')).toBe(String(length))
        expect(answer.body.byteLength).toBe(length)
      }
    },
  },
  {
    id: 'range-if-range-strong-etag',
    section: 'RFC 9110 §13.1.5',
    requirement: 'If-Range with the stored strong ETag serves the range; another tag the whole 200',
    run: async (h) => {
      const path = await stored(h, { etag: '"r1"' })
      expectPart(await ranged(h, path, { range: 'bytes=0-2', 'if-range': '"r1"' }), 0, 2)
      expectWhole(await ranged(h, path, { range: 'bytes=0-2', 'if-range': '"r0"' }))
      expect(await h.fetches(path)).toBe(1)
    },
  },
  {
    id: 'range-if-range-weak-etag',
    section: 'RFC 9110 §13.1.5',
    requirement: 'a weak entity tag never satisfies If-Range: the whole 200',
    run: async (h) => {
      const path = await stored(h, { etag: 'W/"r1"' })
      expectWhole(await ranged(h, path, { range: 'bytes=0-2', 'if-range': 'W/"r1"' }))
      expectWhole(await ranged(h, path, { range: 'bytes=0-2', 'if-range': '"r1"' }))
    },
  },
  {
    id: 'range-if-range-date',
    section: 'RFC 9110 §13.1.5, §8.8.2.2',
    requirement: 'If-Range with a date equal to a strong Last-Modified serves the range; else 200',
    run: async (h) => {
      const date = new Date(now()).toUTCString()
      const lastModified = new Date(now() - 3_600_000).toUTCString()
      const path = await stored(h, { date, 'last-modified': lastModified })
      expectPart(await ranged(h, path, { range: 'bytes=1-3', 'if-range': lastModified }), 1, 3)
      const earlier = new Date(now() - 7_200_000).toUTCString()
      expectWhole(await ranged(h, path, { range: 'bytes=1-3', 'if-range': earlier }))
    },
  },
  {
    id: 'range-if-range-weak-date',
    section: 'RFC 9110 §13.1.5, §8.8.2.2',
    requirement:
      'If-Range with a Last-Modified less than 1 s before Date (weak) gives the whole 200',
    run: async (h) => {
      const date = new Date(now()).toUTCString()
      const path = await stored(h, { date, 'last-modified': date })
      expectWhole(await ranged(h, path, { range: 'bytes=1-3', 'if-range': date }))
    },
  },
  {
    id: 'range-if-range-without-range',
    section: 'RFC 9110 §13.1.5',
    requirement: 'If-Range without Range is ignored',
    run: async (h) => {
      const path = await stored(h, { etag: '"r1"' })
      expectWhole(await ranged(h, path, { 'if-range': '"r1"' }))
      expectWhole(await ranged(h, path, { 'if-range': '"r0"' }))
    },
  },
  {
    id: 'range-after-conditional',
    section: 'RFC 9110 §13.2.2',
    requirement: 'If-None-Match is evaluated before Range: a matching tag gives 304, not 206',
    run: async (h) => {
      const path = await stored(h, { etag: '"r1"' })
      const answer = await ranged(h, path, { range: 'bytes=0-2', 'if-none-match': '"r1"' })
      expect(answer.status).toBe(304)
      expect(answer.headers.get('content-range')).toBeNull()
      expectPart(await ranged(h, path, { range: 'bytes=0-2', 'if-none-match': '"r0"' }), 0, 2)
    },
  },
  {
    id: 'range-miss-fills-whole',
    section: 'RFC 9111 §3.3',
    requirement: 'a Range miss stores the whole response and answers the part from it',
    run: async (h) => {
      // The echo's JSON changes per fetch (`id`): equal bytes prove both answers are one stored copy.
      const path = h.echo('miss', FRESH)
      const part = await ranged(h, path, { range: 'bytes=0-9' })
      expect(part.status).toBe(206)
      expect(part.cacheStatus).toMatch(/fwd=miss/)
      expect(part.cacheStatus).toMatch(/stored/)
      const whole = await h.send(path)
      expect(whole.status).toBe(200)
      expect(whole.cacheStatus).toMatch(/hit/)
      expect(part.headers.get('content-range')).toBe(`bytes 0-9/${whole.body.byteLength}`)
      expect(part.text).toBe(whole.text.slice(0, 10))
      // The fill asked for the whole representation: the origin never saw the Range field.
      expect((JSON.parse(whole.text) as { headers: Record<string, string> }).headers.range).toBe(
        undefined
      )
      expect(await h.fetches(path)).toBe(1)
    },
  },
  {
    id: 'range-origin-206-not-stored',
    section: 'RFC 9111 §3.3',
    requirement: "a 206 from the origin is passed on and not stored as the URL's response",
    run: async (h) => {
      const path = h.echo('p', { ...FRESH, 'content-range': 'bytes 0-4/36' }, `status=206&${BYTES}`)
      const one = await ranged(h, path, { range: 'bytes=0-4' })
      expect(one.status).toBe(206)
      expect(one.cacheStatus).not.toMatch(/stored|hit/)
      const two = await ranged(h, path, { range: 'bytes=0-4' })
      expect(two.cacheStatus).not.toMatch(/hit/)
      expect(await h.fetches(path)).toBe(2)
    },
  },
  {
    id: 'range-head-ignored',
    section: 'RFC 9110 §14.2',
    requirement: 'Range is defined for GET only: a HEAD with Range gets the 200 fields',
    run: async (h) => {
      const path = await stored(h)
      const head = await h.send(path, { method: 'HEAD', headers: { range: 'bytes=0-4' } })
      expect(head.status).toBe(200)
      expect(head.headers.get('content-range')).toBeNull()
      expect(head.body.byteLength).toBe(0)
    },
  },
  {
    id: 'range-stored-404-whole',
    section: 'RFC 9110 §14.2',
    requirement: 'Range applies to a 200 only: a stored 404 is sent whole',
    run: async (h) => {
      const path = h.echo('nf', FRESH, `status=404&${BYTES}`)
      expect((await h.send(path)).cacheStatus).toMatch(/stored/)
      const answer = await ranged(h, path, { range: 'bytes=0-4' })
      expect(answer.status).toBe(404)
      expect(answer.cacheStatus).toMatch(/hit/)
      expect(answer.headers.get('content-range')).toBeNull()
      expect(answer.text).toBe(BODY)
    },
  },
  {
    id: 'range-hostile',
    section: 'RFC 9110 §14.2',
    requirement: 'hostile Range fields (huge, many, overlapping, spaced) never give a 5xx',
    run: async (h) => {
      const path = await stored(h)
      const many = `bytes=${Array.from({ length: 1000 }, (_, i) => `${i}-${i}`).join(',')}`
      const huge = '9'.repeat(40)
      const cases: Array<[string, number]> = [
        [many, 200],
        ['bytes=0-0,0-0,0-0', 200],
        [`bytes=${huge}-`, 416],
        [`bytes=0-${huge}`, 206],
        [`bytes=-${huge}`, 206],
        ['bytes=  2-3  ', 206],
        ['bytes=-1-2', 200],
        ['bytes=-', 200],
        ['bytes=', 200],
        ['bytes', 200],
      ]
      for (const [range, status] of cases) {
        const answer = await ranged(h, path, { range })
        expect(answer.status, range.slice(0, 40)).toBe(status)
      }
      expect(await h.fetches(path)).toBe(1)
    },
  },
]
