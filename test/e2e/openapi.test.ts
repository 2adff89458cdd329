/**
 * The admin API's OpenAPI document as `wrangler dev` serves it, checked by an independent OpenAPI 3.1
 * validator (@seriousme/openapi-schema-validator: the official 3.1 JSON Schema, with Ajv). It runs in
 * Node, not inside workerd: Ajv compiles schemas with `new Function`, which workerd forbids.
 */
import { Validator } from '@seriousme/openapi-schema-validator'
import { describe, expect, inject, it } from 'vitest'

const workerUrl = inject('workerUrl')
const adminToken = inject('adminToken')

describe('/_cache/openapi.json', () => {
  it('validates as OpenAPI 3.1 and describes the admin routes', async () => {
    const response = await fetch(`${workerUrl}/_cache/openapi.json`, {
      headers: { authorization: `Bearer ${adminToken}` },
    })
    expect(response.status).toBe(200)
    const document = (await response.json()) as { openapi: string; paths: Record<string, unknown> }
    const validator = new Validator()
    const result = await validator.validate(document)
    expect(result.errors ?? []).toEqual([])
    expect(result.valid).toBe(true)
    expect(validator.version).toBe('3.1')
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(['/_cache/purge', '/_cache/health', '/_cache/openapi.json'])
    )
  })

  it('is not served without the admin token', async () => {
    const response = await fetch(`${workerUrl}/_cache/openapi.json`)
    expect(response.status).toBe(401)
  })
})
