import { describe, expect, it } from 'vitest'
import { RegionRouter } from '../../src/l2/region-router'

const REGIONS = ['us-east', 'eu-west', 'ap-south']

function router(homeBiasMs = 5) {
  return new RegionRouter(REGIONS, {
    breaker: { failureThreshold: 2, cooldownMs: 1000 },
    rttAlpha: 0.5,
    homeBiasMs,
  })
}

const ok = (latencyMs: number) => ({ ok: true, latencyMs })
const down = { ok: false, latencyMs: 1 }

describe('region router', () => {
  it('puts the home region first before anything is measured', () => {
    expect(router().readOrder('eu-west', 0)).toEqual(['eu-west', 'us-east', 'ap-south'])
  })

  it('orders by distance (fastest recent round trip), home kept within its bias', () => {
    const r = router()
    r.record('eu-west', 'eu-west', ok(12), 0)
    r.record('eu-west', 'us-east', ok(9), 0)
    r.record('eu-west', 'ap-south', ok(60), 0)
    expect(r.readOrder('eu-west', 0)).toEqual(['eu-west', 'us-east', 'ap-south'])
    // One slow call does not move it; a region that stays slow for the whole window does.
    r.record('eu-west', 'eu-west', ok(40), 0)
    expect(r.readOrder('eu-west', 0)[0]).toBe('eu-west')
    for (let i = 0; i < 8; i++) r.record('eu-west', 'eu-west', ok(40), 0)
    expect(r.distance('eu-west', 'eu-west')).toBe(40)
    expect(r.readOrder('eu-west', 0)).toEqual(['us-east', 'eu-west', 'ap-south'])
  })

  it('a cold first call does not make the home region look far', () => {
    const r = router()
    r.record('us-east', 'us-east', ok(120), 0) // connection set-up, JIT, a busy moment
    r.record('us-east', 'eu-west', ok(8), 0)
    r.record('us-east', 'us-east', ok(1), 0)
    expect(r.readOrder('us-east', 0)[0]).toBe('us-east')
    // The expected round trip (for deadlines) still remembers it was slow.
    expect(r.rtt('us-east', 'us-east')).toBeCloseTo(60.5)
  })

  it('keeps estimates per client location', () => {
    const r = router()
    r.record('ap-south', 'ap-south', ok(2), 0)
    r.record('ap-south', 'us-east', ok(200), 0)
    r.record('us-east', 'us-east', ok(2), 0)
    expect(r.readOrder('us-east', 0)[0]).toBe('us-east')
    expect(r.rtt('ap-south', 'us-east')).toBe(200)
    expect(r.rtt('us-east', 'ap-south')).toBeUndefined()
  })

  it('skips a region whose breaker is open and sends fills to the next one', () => {
    const r = router()
    r.record('eu-west', 'eu-west', down, 0)
    r.record('eu-west', 'eu-west', down, 0)
    expect(r.readOrder('eu-west', 10)).toEqual(['us-east', 'ap-south'])
    expect(r.writeRegion('eu-west', 10)).toBe('us-east')
    expect(r.status().find((s) => s.region === 'eu-west')?.state).toBe('open')
    // After the cooldown it is offered again (as the half-open trial) and a success restores it.
    expect(r.readOrder('eu-west', 1000)[0]).toBe('eu-west')
    expect(r.allow('eu-west', 1000)).toBe(true)
    r.record('eu-west', 'eu-west', ok(1), 1000)
    expect(r.writeRegion('eu-west', 1001)).toBe('eu-west')
  })

  it('a fast failure does not make a region look near; a timeout makes it look far', () => {
    const r = router()
    r.record('eu-west', 'us-east', ok(80), 0)
    r.record('eu-west', 'us-east', { ok: false, latencyMs: 0 }, 0)
    expect(r.rtt('eu-west', 'us-east')).toBe(80)
    r.record('eu-west', 'us-east', { ok: false, latencyMs: 150, slow: true }, 0)
    expect(r.rtt('eu-west', 'us-east')).toBe(115)
  })

  it('reports all down when every breaker is open', () => {
    const r = router()
    for (const region of REGIONS) {
      r.record('eu-west', region, down, 0)
      r.record('eu-west', region, down, 0)
    }
    expect(r.allDown(1)).toBe(true)
    expect(r.readOrder('eu-west', 1)).toEqual([])
    expect(r.writeRegion('eu-west', 1)).toBeUndefined()
  })
})
