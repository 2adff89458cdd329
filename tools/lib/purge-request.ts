/** One purge through the admin API, made at the LHR colo; answered with its body read. */
export async function requestPurge(
  workerUrl: string,
  adminToken: string,
  body: { tags?: string[]; urls?: string[]; prefixes?: string[] }
): Promise<Response> {
  const response = await fetch(`${workerUrl}/_cache/purge`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${adminToken}`,
      'content-type': 'application/json',
      'x-sim-colo': 'LHR',
    },
    body: JSON.stringify(body),
  })
  await response.arrayBuffer()
  return response
}
