import { DeadlineExceeded } from './errors'

/**
 * Settles like `promise`, or rejects with DeadlineExceeded(`operation`, `ms`) after `ms`: every wait
 * has a deadline. The work itself is not cancelled (pass it an AbortSignal for that); its late result
 * is ignored.
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, operation: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | null = null
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceeded(operation, ms)), ms)
  })
  return Promise.race([promise, deadline]).finally(() => timer !== null && clearTimeout(timer))
}
