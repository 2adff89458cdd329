import { expect } from 'vitest'
import type { ConformanceHarness, ConformanceRow } from '../row'
import { storedAndReused } from './helpers'

/** Stored or not, the second request is not answered from the cache. */
async function notReused(h: ConformanceHarness, path: string) {
  await h.send(path)
  const second = await h.send(path)
  expect(second.cacheStatus).not.toMatch(/; hit/)
  expect(await h.fetches(path)).toBe(2)
}

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const two = (n: number) => String(n).padStart(2, '0')
const inTenMinutes = () => new Date(Date.now() + 600_000)
const time = (d: Date) =>
  `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`

/** RFC 850: `Sunday, 06-Nov-94 08:49:37 GMT`. */
function rfc850(d: Date): string {
  const year = two(d.getUTCFullYear() % 100)
  return `${WEEKDAYS[d.getUTCDay()]}, ${two(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${year} ${time(d)} GMT`
}

/** asctime: `Sun Nov  6 08:49:37 1994`. */
function asctime(d: Date): string {
  const day = String(d.getUTCDate()).padStart(2, ' ')
  return `${WEEKDAYS[d.getUTCDay()]!.slice(0, 3)} ${MONTHS[d.getUTCMonth()]} ${day} ${time(d)} ${d.getUTCFullYear()}`
}

/** The same instant with another weekday name. */
function wrongWeekday(date: string): string {
  const day = date.slice(0, 3)
  return (day === 'Mon' ? 'Tue' : 'Mon') + date.slice(3)
}

/** A stored 200 (max-age=600) then a conditional request for it: the cache's own answer. */
async function conditional(
  h: ConformanceHarness,
  headers: Record<string, string>,
  ifModifiedSince: string
) {
  const path = h.echo('p', { 'cache-control': 'max-age=600', ...headers })
  await h.send(path)
  const answer = await h.send(path, { headers: { 'if-modified-since': ifModifiedSince } })
  expect(answer.cacheStatus).toMatch(/; hit; /)
  expect(await h.fetches(path)).toBe(1)
  return answer
}

const LAST_MODIFIED = 'Wed, 01 Jan 2025 00:00:00 GMT'

export const parsingRows: ConformanceRow[] = [
  {
    id: 'parse-expires-lower-case',
    section: 'RFC 9110 §5.6.7',
    requirement:
      'an IMF-fixdate Expires in lower case is still a date (the copy is fresh until it)',
    run: (h) =>
      storedAndReused(h, h.echo('p', { expires: inTenMinutes().toUTCString().toLowerCase() })),
  },
  {
    id: 'parse-expires-wrong-weekday',
    section: 'RFC 9110 §5.6.7',
    requirement: 'an Expires whose weekday does not match its date is still read by its date',
    run: (h) =>
      storedAndReused(h, h.echo('p', { expires: wrongWeekday(inTenMinutes().toUTCString()) })),
  },
  {
    id: 'parse-expires-rfc850',
    section: 'RFC 9110 §5.6.7',
    requirement: 'an Expires in the obsolete RFC 850 format is accepted',
    run: (h) => storedAndReused(h, h.echo('p', { expires: rfc850(inTenMinutes()) })),
  },
  {
    id: 'parse-expires-asctime',
    section: 'RFC 9110 §5.6.7',
    requirement: 'an Expires in the obsolete asctime format is accepted (upper-case names too)',
    run: (h) => storedAndReused(h, h.echo('p', { expires: asctime(inTenMinutes()).toUpperCase() })),
  },
  {
    id: 'parse-expires-zero-expired',
    section: 'RFC 9111 §5.3',
    requirement: 'an invalid Expires ("0") means already expired',
    run: (h) => notReused(h, h.echo('p', { expires: '0' })),
  },
  {
    id: 'parse-expires-bad-month-expired',
    section: 'RFC 9111 §5.3; RFC 9110 §5.6.7',
    requirement: 'an Expires with an unknown month name is invalid: already expired',
    run: (h) =>
      notReused(
        h,
        h.echo('p', {
          expires: inTenMinutes()
            .toUTCString()
            .replace(/ [A-Z][a-z]{2} /, ' Foo '),
        })
      ),
  },
  {
    id: 'parse-age-valid-counts',
    section: 'RFC 9111 §5.1, §4.2.3',
    requirement: "a valid Age counts toward the copy's age (sent on, and shortening its freshness)",
    run: async (h) => {
      const path = h.echo('p', { age: '100', 'cache-control': 'max-age=600' })
      await h.send(path)
      const hit = await h.send(path)
      expect(hit.cacheStatus).toMatch(/; hit; ttl=(4\d\d|500)\b/)
      expect(Number(hit.headers.get('age'))).toBeGreaterThanOrEqual(100)
    },
  },
  {
    id: 'parse-age-over-max-age-stale',
    section: 'RFC 9111 §4.2.3',
    requirement: 'a response whose Age exceeds its max-age arrives stale (not reused unvalidated)',
    run: (h) => notReused(h, h.echo('p', { age: '100', 'cache-control': 'max-age=60' })),
  },
  ...(['100;foo', '100.5', '-100'] as const).map((age): ConformanceRow => ({
    id: `parse-age-invalid-${age.replace(/[^0-9a-z]/g, '_')}`,
    section: 'RFC 9111 §5.1; RFC 9111 §1.2.2',
    requirement: `an Age that is not delta-seconds (${age}) is ignored`,
    run: async (h) => {
      const path = h.echo('p', { age, 'cache-control': 'max-age=60' })
      await h.send(path)
      const hit = await h.send(path)
      expect(hit.cacheStatus).toMatch(/; hit; /)
      const sent = Number(hit.headers.get('age'))
      expect(sent).toBeGreaterThanOrEqual(0)
      expect(sent).toBeLessThan(30)
    },
  })),
  {
    id: 'parse-max-age-leading-zeros',
    section: 'RFC 9111 §1.2.2',
    requirement: 'max-age=060 is delta-seconds 60',
    run: async (h) => {
      const path = h.echo('p', { 'cache-control': 'max-age=060' })
      await h.send(path)
      const hit = await h.send(path)
      expect(hit.cacheStatus).toMatch(/; hit; ttl=(5\d|60)\b/)
    },
  },
  {
    id: 'parse-max-age-quoted',
    section: 'RFC 9111 §5.2, §5.2.2.1',
    requirement:
      'a quoted max-age ("60") is accepted: recipients ought to accept both argument forms',
    run: (h) => storedAndReused(h, h.echo('p', { 'cache-control': 'max-age="60"' })),
  },
  {
    id: 'parse-directive-names-case-insensitive',
    section: 'RFC 9111 §5.2',
    requirement: 'cache directive names are compared case-insensitively (MAX-AGE=60)',
    run: (h) => storedAndReused(h, h.echo('p', { 'cache-control': 'Public, MAX-AGE=60' })),
  },
  {
    id: 'parse-max-age-duplicate-stale',
    section: 'RFC 9111 §4.2.1',
    requirement: 'conflicting duplicate max-age directives make the response stale',
    run: (h) => notReused(h, h.echo('p', { 'cache-control': 'max-age=60, max-age=120' })),
  },
  {
    id: 'parse-max-age-negative-stale',
    section: 'RFC 9111 §4.2.1, §1.2.2',
    requirement: 'an invalid max-age (-1) makes the response stale, not fresh for a default time',
    run: (h) => notReused(h, h.echo('p', { 'cache-control': 'max-age=-1' })),
  },
  {
    id: 'parse-s-maxage-over-max-age',
    section: 'RFC 9111 §4.2.1, §5.2.2.10',
    requirement: 'a shared cache uses s-maxage over max-age (max-age=0, s-maxage=60 is fresh)',
    run: (h) => storedAndReused(h, h.echo('p', { 'cache-control': 'max-age=0, s-maxage=60' })),
  },
  {
    id: 'parse-ims-date-fallback',
    section: 'RFC 9111 §4.3.2; RFC 9110 §13.1.3',
    requirement:
      'If-Modified-Since against a stored 200 without Last-Modified is evaluated with its Date',
    run: async (h) => {
      const date = new Date().toUTCString()
      const answer = await conditional(h, { date }, date)
      expect(answer.status).toBe(304)
    },
  },
  {
    id: 'parse-ims-date-fallback-older',
    section: 'RFC 9111 §4.3.2; RFC 9110 §13.1.3',
    requirement: 'an If-Modified-Since older than the stored Date (no Last-Modified) gets the 200',
    run: async (h) => {
      const date = new Date().toUTCString()
      const answer = await conditional(h, { date }, 'Wed, 01 Jan 2020 00:00:00 GMT')
      expect(answer.status).toBe(200)
    },
  },
  {
    id: 'parse-ims-lower-case',
    section: 'RFC 9110 §5.6.7, §13.1.3',
    requirement: 'an If-Modified-Since in lower case is a valid date (304 for an unmodified copy)',
    run: async (h) => {
      const answer = await conditional(
        h,
        { 'last-modified': LAST_MODIFIED },
        LAST_MODIFIED.toLowerCase()
      )
      expect(answer.status).toBe(304)
    },
  },
  {
    id: 'parse-ims-wrong-weekday',
    section: 'RFC 9110 §5.6.7, §13.1.3',
    requirement: 'an If-Modified-Since with a wrong weekday is read by its date',
    run: async (h) => {
      const answer = await conditional(
        h,
        { 'last-modified': LAST_MODIFIED },
        wrongWeekday(LAST_MODIFIED)
      )
      expect(answer.status).toBe(304)
    },
  },
  {
    id: 'parse-ims-not-a-date-ignored',
    section: 'RFC 9110 §13.1.3',
    requirement: 'an If-Modified-Since that is not an HTTP-date (2030-01-01) is ignored: 200',
    run: async (h) => {
      const answer = await conditional(h, { 'last-modified': LAST_MODIFIED }, '2030-01-01')
      expect(answer.status).toBe(200)
    },
  },
]
