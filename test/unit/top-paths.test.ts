import { describe, expect, it } from 'vitest'
import {
  MAX_TRACKED_PATH,
  PATH_HALF_LIFE_MS,
  PATHS_KEPT,
  TopPaths,
  heaviest,
  mergeTopPaths,
} from '../../src/metrics/top-paths'

describe('TopPaths (space-saving)', () => {
  it('counts exactly while it has room, and drains to empty', () => {
    const top = new TopPaths(4)
    for (const path of ['/a', '/b', '/a', '/c', '/a']) top.add(path)
    expect(top.drain()).toEqual({ '/a': 3, '/b': 1, '/c': 1 })
    expect(top.size).toBe(0)
  })

  it('keeps every path requested more than 1/capacity of the time, in bounded memory', () => {
    const top = new TopPaths(8)
    // A long tail of paths seen once, with two heavy hitters among them.
    for (let i = 0; i < 1000; i++) {
      top.add(`/tail/${i}`)
      if (i % 3 === 0) top.add('/hot')
      if (i % 5 === 0) top.add('/warm')
      expect(top.size).toBeLessThanOrEqual(8)
    }
    const counts = top.drain()
    expect(heaviest(counts, 2)).toEqual(['/hot', '/warm'])
    // Overestimates only: by at most the count a path took over.
    expect(counts['/hot']).toBeGreaterThanOrEqual(334)
  })

  it('does not track paths longer than MAX_TRACKED_PATH', () => {
    const top = new TopPaths(4)
    top.add(`/${'x'.repeat(MAX_TRACKED_PATH)}`)
    expect(top.size).toBe(0)
  })
})

describe('mergeTopPaths (the Stats object)', () => {
  it('halves older counts every half-life, then adds, and keeps the heaviest PATHS_KEPT', () => {
    const state = { at: 0, counts: {} as Record<string, number> }
    mergeTopPaths(state, { '/old': 8 }, 1000)
    mergeTopPaths(state, { '/new': 5 }, 1000 + PATH_HALF_LIFE_MS)
    expect(state.counts).toEqual({ '/old': 4, '/new': 5 })
    expect(heaviest(state.counts, 1)).toEqual(['/new'])
    const many = Object.fromEntries(
      Array.from({ length: PATHS_KEPT + 10 }, (_, i) => [`/p/${i}`, i + 1])
    )
    mergeTopPaths(state, many, 1000 + PATH_HALF_LIFE_MS)
    expect(Object.keys(state.counts)).toHaveLength(PATHS_KEPT)
    expect(state.counts[`/p/${PATHS_KEPT + 9}`]).toBe(PATHS_KEPT + 10)
    expect(state.counts['/p/0']).toBeUndefined()
  })
})
