/** tools/lib/redis-server.ts: a throw-away redis-server that leaves nothing behind. */
import { existsSync } from 'node:fs'
import { expect, it } from 'vitest'
import { findRedisServer, pingRedis, startRedisServer } from '../../tools/lib/redis-server'

it('starts on 127.0.0.1 without persistence, answers PING, and stops cleanly', async () => {
  const redis = await startRedisServer()
  expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`)
  expect(await pingRedis(redis.port)).toBe(true)
  const args = redis.process.child.spawnargs.join(' ')
  expect(args).toContain('--save  --appendonly no --dir ')
  const dir = /--dir (\S+)/.exec(args)![1]!
  expect(existsSync(dir)).toBe(true)
  await redis.stop()
  expect(redis.process.exitInfo).toBeDefined()
  expect(await pingRedis(redis.port)).toBe(false)
  expect(existsSync(dir)).toBe(false)
  await redis.stop() // idempotent
})

it('names the package to install when redis-server is not on PATH', async () => {
  const path = process.env.PATH
  process.env.PATH = '/nonexistent'
  try {
    await expect(findRedisServer()).rejects.toThrow(/apt-get install -y redis-server/)
  } finally {
    process.env.PATH = path
  }
})
