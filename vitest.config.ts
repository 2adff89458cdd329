import { cloudflareTest } from '@cloudflare/vitest-plugin'
import { defineConfig } from 'vitest/config'
import { createDemoOrigin } from './tools/demo-origin/app'

// The demo origin runs in this Node process; the Worker under test reaches it through Miniflare's
// outbound service, so every origin fetch is a real HTTP exchange with the real demo-origin code.
const origin = createDemoOrigin({ latencyMs: 0 })

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        bindings: {
          ORIGIN_URL: 'http://origin.test',
          ADMIN_TOKEN: 'test-admin-token',
        },
        outboundService: (request: Request) => origin.app.fetch(request),
      },
    }),
  ],
  test: {
    // JSON beside the console report: .ci/run totals it into one 'N passed, N failed' line.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/workers.json' },
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'],
    // Tests assert behaviour and counts, never speed: hundreds of concurrent requests through
    // workerd take seconds on a loaded 2-core machine, so no test may fail on vitest's 5 s default.
    testTimeout: 60_000,
    setupFiles: ['test/helpers/setup.ts'],
  },
})
