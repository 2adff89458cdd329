import type { TestProject } from 'vitest/node'
import { startStack } from '../../tools/lib/stack'

declare module 'vitest' {
  export interface ProvidedContext {
    workerUrl: string
    originUrl: string
    adminToken: string
  }
}

export default async function setup(project: TestProject) {
  const stack = await startStack({ originLatencyMs: 20, quiet: true })
  project.provide('workerUrl', stack.workerUrl)
  project.provide('originUrl', stack.originUrl)
  project.provide('adminToken', stack.adminToken)
  return async () => {
    await stack.stop()
  }
}
