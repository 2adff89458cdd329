/**
 * Settles like `promise`, or rejects with `onTimeout()` after `ms`: every wait has a deadline. The
 * work itself is not cancelled (pass it an AbortSignal for that); its late result is ignored.
 */
export function withDeadline<T>(
  promise: Promise<T>,
  ms: number,
  onTimeout: () => Error
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | null = null
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms)
  })
  return Promise.race([promise, deadline]).finally(() => timer !== null && clearTimeout(timer))
}
