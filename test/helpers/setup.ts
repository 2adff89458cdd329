import { reset } from 'cloudflare:test'
import { afterEach, beforeEach } from 'vitest'
import { freshEnv, originControl } from './worker'

// Every test starts with an empty cache and a fresh, healthy origin with zeroed counters.
beforeEach(async () => {
  freshEnv()
  await originControl('reset')
})

afterEach(async () => {
  await reset()
})
