/** The purge body the admin API takes (see src/admin/request-schemas.ts for the whole shape). */
export type PurgeBody = Record<string, unknown>

/**
 * POST /_cache/purge with the admin token, made at simulated colo `colo`; the answer unread (the
 * bench and the e2e tests read it as they need). One request shape for both.
 */
export function requestPurge(
  workerUrl: string,
  adminToken: string,
  body: PurgeBody,
  colo = 'LHR'
): Promise<Response> {
  return fetch(`${workerUrl}/_cache/purge`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${adminToken}`,
      'content-type': 'application/json',
      'x-sim-colo': colo,
    },
    body: JSON.stringify(body),
  })
}
