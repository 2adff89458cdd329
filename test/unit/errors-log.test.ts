import { afterEach, describe, expect, it, vi } from 'vitest'
import { EntryCodecError } from '../../src/cache/entry-codec'
import { ConfigError, parseConfig } from '../../src/config/load-config'
import {
  DeadlineExceeded,
  EdgeCacheError,
  ERROR_CODES,
  isTimeout,
  type ErrorCode,
} from '../../src/lib/errors'
import { log } from '../../src/lib/log'
import { withDeadline } from '../../src/lib/with-deadline'
import { OriginCircuitOpen } from '../../src/origin/origin-breaker'
import { OpenProxyError } from '../../src/origin/origin-request'

afterEach(() => {
  vi.restoreAllMocks()
})

function thrown(run: () => unknown): unknown {
  try {
    run()
  } catch (error) {
    return error
  }
  throw new Error('did not throw')
}

describe('errors', () => {
  it.each<[string, () => EdgeCacheError, ErrorCode]>([
    ['ConfigError', () => thrown(() => parseConfig(undefined)) as ConfigError, 'E_CONFIG'],
    ['EntryCodecError', () => new EntryCodecError('bad record'), 'E_ENTRY_CODEC'],
    ['OpenProxyError', () => new OpenProxyError('refusing'), 'E_OPEN_PROXY'],
    ['OriginCircuitOpen', () => new OriginCircuitOpen(), 'E_ORIGIN_CIRCUIT_OPEN'],
    ['DeadlineExceeded', () => new DeadlineExceeded('op', 5), 'E_DEADLINE'],
  ])('%s carries its code on the instance and the class', (name, make, code) => {
    const error = make()
    expect(error).toBeInstanceOf(EdgeCacheError)
    expect(error).toBeInstanceOf(Error)
    expect(error.name).toBe(name)
    expect(error.code).toBe(code)
    expect((error.constructor as unknown as { code: string }).code).toBe(code)
    expect(ERROR_CODES).toHaveProperty(code)
  })

  it('keeps the cause', () => {
    const cause = new SyntaxError('not JSON')
    expect(new ConfigError('invalid CACHE_CONFIG', { cause }).cause).toBe(cause)
    expect(new EntryCodecError('bad', { cause }).cause).toBe(cause)
  })

  it('withDeadline rejects with DeadlineExceeded naming the operation and the ms', async () => {
    const error = await withDeadline(new Promise(() => {}), 5, 'stats read').catch((e) => e)
    expect(error).toBeInstanceOf(DeadlineExceeded)
    expect(error).toMatchObject({ code: 'E_DEADLINE', operation: 'stats read', ms: 5 })
    expect(String(error)).toBe('DeadlineExceeded: stats read: no answer within 5 ms')
  })

  it('withDeadline settles like the promise when it is on time', async () => {
    await expect(withDeadline(Promise.resolve(42), 1000, 'fast')).resolves.toBe(42)
    const failure = new Error('down')
    await expect(withDeadline(Promise.reject(failure), 1000, 'failing')).rejects.toBe(failure)
  })

  it('isTimeout: DeadlineExceeded and the platform timeouts, nothing else', async () => {
    const signal = AbortSignal.timeout(1)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(signal.aborted).toBe(true)
    expect(isTimeout(signal.reason)).toBe(true)
    const aborted = new AbortController()
    aborted.abort()
    expect(isTimeout(aborted.signal.reason)).toBe(true)
    expect(isTimeout(new DeadlineExceeded('op', 1))).toBe(true)

    expect(isTimeout(new Error('timeout'))).toBe(false)
    expect(isTimeout(new OriginCircuitOpen())).toBe(false)
    expect(isTimeout('TimeoutError')).toBe(false)
    expect(isTimeout({ name: 'TimeoutError' })).toBe(false)
    expect(isTimeout(undefined)).toBe(false)
  })
})

describe('log', () => {
  it('writes warn and error as one JSON line on stderr, with level and event first', () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    const out = vi.spyOn(console, 'log').mockImplementation(() => {})
    log.warn('tier_failure', { tier: 'L2', operation: 'get', error: new DeadlineExceeded('x', 3) })
    log.error('invalidation_failed', { url: '/a' })
    expect(out).not.toHaveBeenCalled()
    expect(errors).toHaveBeenCalledTimes(2)
    const lines = errors.mock.calls.map(([line]) => line as string)
    for (const line of lines) expect(line).not.toContain('\n')
    expect(lines[0]).toBe(
      '{"level":"warn","event":"tier_failure","tier":"L2","operation":"get","error":"DeadlineExceeded: x: no answer within 3 ms"}'
    )
    expect(JSON.parse(lines[1]!)).toEqual({
      level: 'error',
      event: 'invalidation_failed',
      url: '/a',
    })
  })

  it('writes info on stdout', () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    const out = vi.spyOn(console, 'log').mockImplementation(() => {})
    log.info('request', { status: 200, cacheStatus: null, colo: undefined })
    expect(errors).not.toHaveBeenCalled()
    expect(out).toHaveBeenCalledTimes(1)
    expect(JSON.parse(out.mock.calls[0]![0] as string)).toEqual({
      level: 'info',
      event: 'request',
      status: 200,
      cacheStatus: null,
    })
  })

  it('renders a caught value of any kind as String(error), and Errors in any field', () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    log.warn('a', { error: 'plain text' })
    log.warn('b', { error: { overloaded: true } })
    log.warn('c', { cause: new TypeError('bad') })
    const parsed = errors.mock.calls.map(([line]) => JSON.parse(line as string))
    expect(parsed.map((line) => line.error ?? line.cause)).toEqual([
      'plain text',
      '[object Object]',
      'TypeError: bad',
    ])
  })

  it('sampled: never at 0, always at 1', () => {
    for (let i = 0; i < 20; i++) {
      expect(log.sampled(0)).toBe(false)
      expect(log.sampled(1)).toBe(true)
    }
    vi.spyOn(Math, 'random').mockReturnValue(0.3)
    expect(log.sampled(0.25)).toBe(false)
    expect(log.sampled(0.5)).toBe(true)
  })
})
