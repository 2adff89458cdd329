/**
 * Published list prices the cost scenario multiplies its measured counts by: marginal prices, past
 * each plan's included allowance, in US$. Read on 2026-12-03 (from stored copies of the pages
 * named); check the pages before relying on the dollar figures: the counts are what is measured.
 */

/**
 * Workers Paid, Standard usage model: "10 million included per month, +$0.30 per additional million"
 * inbound requests; subrequests (to the origin, Upstash, Durable Objects) are not billed as requests.
 * developers.cloudflare.com/workers/platform/pricing/
 */
export const WORKERS_USD_PER_REQUEST = 0.3 / 1_000_000

/**
 * Workers Paid, Standard usage model: "30 million CPU milliseconds included per month, +$0.02 per
 * additional million CPU milliseconds". developers.cloudflare.com/workers/platform/pricing/
 */
export const WORKERS_USD_PER_CPU_MS = 0.02 / 1_000_000

/**
 * Durable Objects (Workers Paid): requests "1 million, + $0.15/million"; every RPC method call on a
 * stub is its own billed request, and alarm invocations count too.
 * developers.cloudflare.com/durable-objects/platform/pricing/
 */
export const DO_USD_PER_REQUEST = 0.15 / 1_000_000

/**
 * Durable Objects (Workers Paid): duration "400,000 GB-s, + $12.50/million GB-s", wall-clock time
 * while an object is active or idle but unable to hibernate, at 128 MB per object (the page's
 * examples). developers.cloudflare.com/durable-objects/platform/pricing/
 */
export const DO_USD_PER_GB_SECOND = 12.5 / 1_000_000
export const DO_GB_PER_OBJECT = 128 / 1024

/**
 * Upstash Redis Pay-As-You-Go: "$0.20 per 100K commands". upstash.com/docs/redis/overall/billing
 * (and upstash.com/pricing/redis). How a subscription is counted is not on that page; Upstash's
 * Realtime pricing page (upstash.com/docs/realtime/overall/pricing) counts SUBSCRIBE as one command
 * per connection and lists no command per message delivered, which the local endpoint follows.
 */
export const UPSTASH_USD_PER_COMMAND = 0.2 / 100_000
