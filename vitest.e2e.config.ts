import { defineConfig } from 'vitest/config'

// End-to-end: the whole local stack (demo origin + `wrangler dev`) started once, spoken to over HTTP.
export default defineConfig({
  test: {
    // JSON beside the console report: .ci/run totals it into one 'N passed, N failed' line.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/e2e.json' },
    // The local tools (Upstash-compatible REST endpoint, redis-server) are tested here too: Node, real processes.
    include: ['test/e2e/**/*.test.ts', 'test/tools/**/*.test.ts'],
    environment: 'node',
    globalSetup: ['test/e2e/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // One stack, shared state (origin counters): files run one after another.
    fileParallelism: false,
  },
})
