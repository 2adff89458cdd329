import type { TestProject } from 'vitest/node'
import { startStack } from '../../tools/lib/stack'

declare module 'vitest' {
  export interface ProvidedContext {
    workerUrl: string
    originUrl: string
    adminToken: string
    /** The simulated L2 regions' control API (tools/regions/control.ts). */
    regionsControlUrl: string
    regionNames: string[]
  }
}

export default async function setup(project: TestProject) {
  // Regions at a tenth of the real distances: the geography shows, the suite stays fast.
  const stack = await startStack({
    originLatencyMs: 20,
    quiet: true,
    regions: { latencyScale: 0.1 },
  })
  project.provide('workerUrl', stack.workerUrl)
  project.provide('originUrl', stack.originUrl)
  project.provide('adminToken', stack.adminToken)
  project.provide('regionsControlUrl', stack.regions!.controlUrl)
  project.provide(
    'regionNames',
    stack.regions!.regions.map((r) => r.name)
  )
  return async () => {
    await stack.stop()
  }
}
