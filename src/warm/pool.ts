/**
 * Runs `task` over `items`, at most `concurrency` at a time, in order of `items`. Once `signal`
 * aborts, no further item starts and the ones in flight are no longer waited for: their slots stay
 * `undefined` (the work itself goes on unless it watches the signal; a late rejection is ignored).
 * A task that rejects before the abort rejects the whole run, as `Promise.all` does.
 */
export async function eachBounded<T, R>(
  items: readonly T[],
  concurrency: number,
  task: (item: T) => Promise<R>,
  signal?: AbortSignal
): Promise<(R | undefined)[]> {
  const results = new Array<R | undefined>(items.length).fill(undefined)
  const aborted = signal && abortion(signal)
  let next = 0
  const worker = async () => {
    while (next < items.length && !signal?.aborted) {
      const i = next++
      const running = task(items[i]!)
      if (!aborted) {
        results[i] = await running
        continue
      }
      running.catch(() => undefined)
      const settled = await Promise.race([running.then((value) => ({ value })), aborted])
      if (settled === ABORTED) return
      results[i] = settled.value
    }
  }
  const workers = Math.max(1, Math.min(concurrency, items.length))
  await Promise.all(Array.from({ length: workers }, worker))
  return results
}

const ABORTED = Symbol('aborted')

function abortion(signal: AbortSignal): Promise<typeof ABORTED> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(ABORTED)
    else signal.addEventListener('abort', () => resolve(ABORTED), { once: true })
  })
}
