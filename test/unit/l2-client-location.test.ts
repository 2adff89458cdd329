import { describe, expect, it } from 'vitest'
import { parseConfig, type L2Config } from '../../src/config/load-config'
import { base64ToBytes, bytesToBase64 } from '../../src/l2/base64'
import {
  clientLocation,
  SIMULATED_COLO_HEADER,
  SIMULATED_REGION_HEADER,
} from '../../src/l2/client-location'

const l2 = parseConfig({
  ORIGIN_URL: 'https://api.example.com',
  CACHE_CONFIG: {
    routes: [{ pattern: '/**' }],
    l2: { locations: { colos: { SIN: 'ap-south' }, continents: { EU: 'eu-west', AS: 'us-east' } } },
  },
  L2_REGIONS: ['us-east', 'eu-west', 'ap-south'].map((name, i) => ({
    name,
    url: `http://127.0.0.1:${7000 + i}`,
    token: 't',
  })),
}).l2 as L2Config

function request(cf: object | undefined, region?: string): Request {
  const headers: Record<string, string> =
    region === undefined ? {} : { [SIMULATED_REGION_HEADER]: region }
  const plain = new Request('https://cache.example/x', { headers })
  return cf === undefined ? plain : new Request(plain, { cf } as RequestInit)
}

describe('client location', () => {
  it('maps the colo first, then the continent, then the default region', () => {
    expect(clientLocation(request({ colo: 'SIN', continent: 'AS' }), l2, false).home).toBe(
      'ap-south'
    )
    expect(clientLocation(request({ colo: 'HKG', continent: 'AS' }), l2, false).home).toBe(
      'us-east'
    )
    expect(clientLocation(request({ colo: 'CDG', continent: 'EU' }), l2, false).home).toBe(
      'eu-west'
    )
    expect(clientLocation(request(undefined), l2, false)).toEqual({
      home: 'us-east',
      simulatedColo: undefined,
    })
  })

  it('ignores the simulation header unless simulation is on', () => {
    const claimed = request({ colo: 'CDG', continent: 'EU' }, 'ap-south')
    expect(clientLocation(claimed, l2, false)).toEqual({
      home: 'eu-west',
      simulatedColo: undefined,
    })
    expect(clientLocation(claimed, l2, true)).toEqual({
      home: 'ap-south',
      simulatedColo: 'ap-south',
    })
  })

  it('maps a simulated colo like a real one, giving it its own L1; unmapped colos are ignored', () => {
    const at = (colo: string) =>
      new Request('https://cache.example/x', { headers: { [SIMULATED_COLO_HEADER]: colo } })
    expect(clientLocation(at('SIN'), l2, true)).toEqual({ home: 'ap-south', simulatedColo: 'SIN' })
    expect(clientLocation(at('SIN'), l2, false).simulatedColo).toBeUndefined()
    expect(clientLocation(at('XXX'), l2, true)).toEqual({
      home: 'us-east',
      simulatedColo: undefined,
    })
  })

  it('leaves Object.prototype names unmapped (own keys only), simulated or from request.cf', () => {
    const names = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']
    for (const name of names) {
      const simulated = new Request('https://cache.example/x', {
        headers: { [SIMULATED_COLO_HEADER]: name },
      })
      expect(clientLocation(simulated, l2, true)).toEqual({
        home: 'us-east',
        simulatedColo: undefined,
      })
      expect(clientLocation(request({ colo: name, continent: name }), l2, false)).toEqual({
        home: 'us-east',
        simulatedColo: undefined,
      })
    }
  })

  it('ignores a simulated region that is not configured', () => {
    const claimed = request({ continent: 'EU' }, 'mars-1')
    expect(clientLocation(claimed, l2, true)).toEqual({ home: 'eu-west', simulatedColo: undefined })
  })
})

describe('base64 for L2 values', () => {
  it('round-trips every byte value and large buffers', () => {
    const all = new Uint8Array(256).map((_, i) => i)
    expect(base64ToBytes(bytesToBase64(all))).toEqual(all)
    const large = new Uint8Array(200_000).map((_, i) => (i * 31) & 0xff)
    expect(base64ToBytes(bytesToBase64(large))).toEqual(large)
    expect(bytesToBase64(new Uint8Array())).toBe('')
  })
})
