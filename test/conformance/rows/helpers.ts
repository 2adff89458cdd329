import { expect } from 'vitest'
import type { ConformanceHarness } from '../row'

/*
 * Checks that several rows/*.ts topics share. A helper stays in its topic file when only that file
 * uses it, or when its version asserts something the others do not.
 */

/** The echo's per-response id (undefined when the body is not the echo's JSON). */
export function idOf(text: string): string | undefined {
  try {
    return (JSON.parse(text) as { id?: string }).id
  } catch {
    return undefined
  }
}

/** Stored on the first request, the same copy on the second, one origin fetch. */
export async function storedAndReused(h: ConformanceHarness, path: string) {
  const first = await h.send(path)
  expect(first.cacheStatus).toMatch(/fwd=miss.*stored/)
  const second = await h.send(path)
  expect(second.cacheStatus).toMatch(/; hit; /)
  expect(idOf(second.text)).toBe(idOf(first.text))
  expect(await h.fetches(path)).toBe(1)
}

/** Not stored: every request reaches the origin. */
export async function notStored(h: ConformanceHarness, path: string) {
  const first = await h.send(path)
  expect(first.cacheStatus).not.toMatch(/stored/)
  const second = await h.send(path)
  expect(second.cacheStatus).not.toMatch(/; hit/)
  expect(await h.fetches(path)).toBe(2)
}
