import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig } from '../../src/config/load-config'

const REGIONS = [
  { name: 'us-east', url: 'http://127.0.0.1:7001', token: 't' },
  { name: 'eu-west', url: 'http://127.0.0.1:7002', token: 't' },
]

function env(overrides: Record<string, unknown> = {}, l2: Record<string, unknown> = {}) {
  return {
    ORIGIN_URL: 'https://api.example.com',
    CACHE_CONFIG: { routes: [{ pattern: '/**' }], l2 },
    ...overrides,
  }
}

function configError(input: unknown): string {
  try {
    parseConfig(input)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return (error as Error).message
  }
  throw new Error('expected parseConfig to throw')
}

describe('L2 config', () => {
  it('has no L2 without L2_REGIONS, and simulation off', () => {
    const config = parseConfig(env())
    expect(config.l2).toBeUndefined()
    expect(config.simulation).toBe(false)
  })

  it('takes L2_REGIONS as a JSON string or an array, with policy defaults', () => {
    const fromString = parseConfig(env({ L2_REGIONS: JSON.stringify(REGIONS) }))
    const fromArray = parseConfig(env({ L2_REGIONS: REGIONS }))
    expect(fromString.l2).toEqual(fromArray.l2)
    expect(fromString.l2).toMatchObject({
      regions: REGIONS,
      defaultRegion: 'us-east',
      timeoutMs: 150,
      readDeadlineMs: 400,
      breaker: { failureThreshold: 3, cooldownMs: 5000 },
      ttlJitter: 0.1,
    })
  })

  it('names bad region entries and duplicate names', () => {
    expect(configError(env({ L2_REGIONS: '[{"name":"EU","url":"x","token":""}]' }))).toMatch(
      /L2_REGIONS\[0\]\.name[\s\S]*L2_REGIONS\[0\]\.url[\s\S]*L2_REGIONS\[0\]\.token/
    )
    expect(configError(env({ L2_REGIONS: [REGIONS[0], REGIONS[0]] }))).toMatch(/unique/)
    expect(configError(env({ L2_REGIONS: 'not json' }))).toMatch(/L2_REGIONS: not valid JSON/)
  })

  it('refuses locations and a default region that name no configured region', () => {
    const message = configError(
      env(
        { L2_REGIONS: REGIONS },
        { defaultRegion: 'ap-south', locations: { continents: { AS: 'ap-south', EU: 'eu-west' } } }
      )
    )
    expect(message).toMatch(/CACHE_CONFIG\.l2\.defaultRegion: no region "ap-south"/)
    expect(message).toMatch(/CACHE_CONFIG\.l2\.locations\.continents\.AS: no region "ap-south"/)
    expect(message).not.toMatch(/continents\.EU/)
  })

  it('allows simulation only when every region is on loopback', () => {
    expect(parseConfig(env({ L2_REGIONS: REGIONS, SIMULATION: '1' })).simulation).toBe(true)
    const remote = [...REGIONS, { name: 'ap-south', url: 'https://x.upstash.io', token: 't' }]
    expect(configError(env({ L2_REGIONS: remote, SIMULATION: '1' }))).toMatch(/env\.SIMULATION/)
    expect(parseConfig(env({ L2_REGIONS: remote, SIMULATION: '0' })).simulation).toBe(false)
  })
})
