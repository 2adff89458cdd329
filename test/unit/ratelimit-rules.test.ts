import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { rateLimitRuleSchema, type CacheConfigInput } from '../../src/config/schema'
import { LeaseBook, type PermitSource } from '../../src/ratelimit/lease-book'
import { checkRulesNow } from '../../src/ratelimit/limiter-client'
import { compileRateLimitRules, identityName, matchingRules } from '../../src/ratelimit/rules'

type RuleInput = NonNullable<CacheConfigInput['rateLimits']>[number]

const compile = (rule: Partial<RuleInput>) =>
  compileRateLimitRules([
    rateLimitRuleSchema.parse({ name: 'test', limit: 1, windowSeconds: 60, ...rule }),
  ])[0]!

const headers = (ip: string | null, extra: Record<string, string> = {}) =>
  new Headers({ ...(ip === null ? {} : { 'cf-connecting-ip': ip }), ...extra })

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, '0')).join('')
}

describe('matchingRules', () => {
  it('counts HEAD against a rule on GET (HEAD is answered from the GET entry)', () => {
    const onGet = compile({ methods: ['GET'], identity: { ip: true } })
    const onPost = compile({ methods: ['POST'], identity: { ip: true } })
    const onHead = compile({ methods: ['HEAD'], identity: { ip: true } })
    const anyMethod = compile({ identity: { ip: true } })
    const rules = [onGet, onPost, onHead, anyMethod]
    expect(matchingRules(rules, 'HEAD', '/x')).toEqual([onGet, onHead, anyMethod])
    expect(matchingRules(rules, 'GET', '/x')).toEqual([onGet, anyMethod])
    expect(matchingRules(rules, 'POST', '/x')).toEqual([onPost, anyMethod])
  })
})

describe('identityName', () => {
  it('defaults to /64 buckets for IPv6 and 65536 buckets for header identities', () => {
    expect(compile({ identity: { ip: true } }).identity).toEqual({
      ip: true,
      ipv6Prefix: 64,
      headers: [],
      buckets: 65_536,
    })
    for (const bad of [
      { ipv6Prefix: 0 },
      { ipv6Prefix: 129 },
      { buckets: 0 },
      { buckets: 2 ** 20 + 1 },
    ])
      expect(() => compile({ identity: { ip: true, ...bad } })).toThrow()
  })

  it('names an identity the same whether worked out or remembered (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.ipV4(), fc.string({ maxLength: 40 })), {
          minLength: 1,
          maxLength: 20,
        }),
        async (clients) => {
          // A fresh rule object has nothing remembered: its names are computed.
          const fresh = () => compile({ identity: { ip: true, headers: ['x-api-key'] } })
          const rule = fresh()
          for (const [ip, key] of clients) {
            const request = headers(ip, key === '' ? {} : { 'x-api-key': key })
            const first = await identityName(rule, request)
            expect(await identityName(rule, request)).toBe(first)
            expect(await identityName(fresh(), request)).toBe(first)
          }
        }
      ),
      { numRuns: 50 }
    )
  })

  it('keeps the exact per-address name for IPv4 on ip-only rules', async () => {
    const rule = compile({ identity: { ip: true } })
    expect(await identityName(rule, headers('203.0.113.7'))).toBe(
      `test:${await sha256Hex('ip=203.0.113.7')}`
    )
    expect(await identityName(rule, headers('203.0.113.8'))).not.toBe(
      await identityName(rule, headers('203.0.113.7'))
    )
  })

  it('names IPv6 clients by their /64, however spelled, and IPv4-mapped ones as IPv4', async () => {
    const rule = compile({ identity: { ip: true } })
    const name = (ip: string) => identityName(rule, headers(ip))
    const host = await name('2001:db8:aa:bb::1')
    expect(host).toBe(`test:${await sha256Hex('ip=2001:db8:aa:bb::')}`)
    expect(await name('2001:DB8:AA:BB:1234:5678:9abc:def0')).toBe(host)
    expect(await name('2001:0db8:00aa:00bb:0:0:0:2')).toBe(host)
    expect(await name('2001:db8:aa:bc::1')).not.toBe(host)
    expect(await name('::ffff:203.0.113.7')).toBe(await name('203.0.113.7'))
    const exact = compile({ identity: { ip: true, ipv6Prefix: 128 } })
    expect(await identityName(exact, headers('2001:db8:aa:bb::1'))).not.toBe(
      await identityName(exact, headers('2001:db8:aa:bb::2'))
    )
  })

  it('hashes header identities into a bounded number of buckets per rule', async () => {
    const rule = compile({ identity: { headers: ['x-api-key'], buckets: 8 } })
    const names = new Set<string>()
    for (let i = 0; i < 500; i++)
      names.add(await identityName(rule, headers('1.1.1.1', { 'x-api-key': `key-${i}` })))
    expect(names.size).toBeLessThanOrEqual(8)
    expect(names.size).toBeGreaterThan(1)
    for (const name of names) expect(name).toMatch(/^test:h[0-7]$/)
    const huge = await identityName(rule, headers(null, { 'x-api-key': 'k'.repeat(100_000) }))
    expect(huge).toMatch(/^test:h[0-7]$/)
  })

  it('includes the masked IP in what a header identity hashes', async () => {
    const rule = compile({ identity: { ip: true, headers: ['x-api-key'] } })
    const name = (ip: string) => identityName(rule, headers(ip, { 'x-api-key': 'k' }))
    expect(await name('2001:db8:aa:bb::1')).toBe(await name('2001:db8:aa:bb::2'))
    // Distinct identities land in distinct buckets here (fixed inputs, fixed hash).
    expect(await name('2001:db8:aa:bb::1')).not.toBe(await name('2001:db8:aa:bc::1'))
    expect(await name('203.0.113.7')).not.toBe(await name('203.0.113.8'))
    expect(await name('203.0.113.7')).toMatch(/^test:h\d+$/)
  })
})

describe('checkRulesNow (the synchronous path)', () => {
  // A stand-in object that grants everything: this is about which path decides, not the window.
  const granting: PermitSource = {
    lease: async (request) => ({
      taken: request.take,
      held: request.hold,
      id: 'lease',
      leaseMs: 60_000,
      at: 0,
      remaining: 1000,
      resetMs: 60_000,
      reclaimable: 0,
    }),
    release: async () => undefined,
  }

  it('decides only what this isolate already knows, for one rule; else leaves it to checkRules', async () => {
    const rule = compile({ limit: 1000, identity: { ip: true } })
    const book = new LeaseBook()
    const request = headers('203.0.113.9')
    // Nothing known yet: no name worked out, no permit held.
    expect(checkRulesNow([rule], request, book)).toBeUndefined()
    const name = await identityName(rule, request)
    expect(checkRulesNow([rule], request, book)).toBeUndefined()
    await book.acquire(name, granting, rule)
    const now = checkRulesNow([rule], request, book)
    expect(now).toHaveLength(1)
    expect(now![0]).toMatchObject({ rule, identity: name, decision: { allowed: true } })
    // Two rules: never (a permit taken here would be taken again if the other had to ask).
    const other = compile({ name: 'other', limit: 1000, identity: { ip: true } })
    expect(checkRulesNow([rule, other], request, book)).toBeUndefined()
    expect(book.outstanding()).toBe(rule.leaseSize - 2)
  })
})
