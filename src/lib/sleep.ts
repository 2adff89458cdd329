/** Resolves after `ms` on this request's own timer (a wait on nothing another request started). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
