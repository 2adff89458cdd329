/*
 * Write fencing for L2 (the lease idea of Facebook's memcache, NSDI 2013): every purge leaves, in each
 * region, a marker of when it was made for each key, tag and prefix it names; every L2 write of a fill
 * carries the instant its origin fetch began and is one script that refuses (and deletes the key)
 * when a matching purge is newer. A fill racing a purge therefore never lands, in any region, however
 * late its write arrives. Markers live `FENCE_SECONDS`: far longer than any fill can take (the origin
 * deadline and the Coalescer's wait are seconds).
 *
 * Keys, under the configured prefix `p`:
 *   p..'pk:'..key     a purge of this cache key (a URL's primary key) made at <ms>
 *   p..'pt:'..tag     a purge of this tag made at <ms>
 *   p..'pp'           sorted set: prefix → when it was last purged (ms), trimmed to FENCE_SECONDS
 *   p..'tz:'..tag     sorted set: entry key → its expiry (ms), the tag's members; trimmed of expired
 *                     members on every write and capped (the soonest-expiring beyond the cap are
 *                     deleted with their entries, so no copy is ever out of its tag's reach)
 */

/** How long a purge's fence markers are kept, in seconds. */
export const FENCE_SECONDS = 900

/**
 * Lua: `mark(at, keys, tags, prefixes)` records a purge's fence markers (newest wins). Needs `p` (the
 * key prefix) in scope.
 */
export const LUA_MARK_PURGE = `
local function mark(at, keys, tags, prefixes)
  local function newest(k)
    local old = redis.call('GET', k)
    if not old or tonumber(old) < at then redis.call('SET', k, at, 'EX', ${FENCE_SECONDS}) end
  end
  for _, k in ipairs(keys) do newest(p .. 'pk:' .. k) end
  for _, t in ipairs(tags) do newest(p .. 'pt:' .. t) end
  if #prefixes > 0 then
    for _, pre in ipairs(prefixes) do redis.call('ZADD', p .. 'pp', 'GT', at, pre) end
    redis.call('ZREMRANGEBYSCORE', p .. 'pp', '-inf', at - ${FENCE_SECONDS * 1000})
    redis.call('EXPIRE', p .. 'pp', ${FENCE_SECONDS})
  end
end
`

/**
 * A fill's write to one region, fenced. KEYS[1] the entry key.
 * ARGV[1] value  ARGV[2] PX  ARGV[3] when the fill's origin fetch began (ms)  ARGV[4] key prefix
 * ARGV[5] the cache key (without prefix)  ARGV[6] now (ms)  ARGV[7] most members per tag
 * ARGV[8] the entry's expiry (ms)  ARGV[9...] its tags.
 * Returns 1 when written, 0 when a newer purge refused it (and the key was deleted).
 */
export const FENCED_WRITE = `
local p = ARGV[4]
local key = ARGV[5]
local began = tonumber(ARGV[3])
local function purged(marker)
  local at = redis.call('GET', marker)
  return at and tonumber(at) >= began
end
local function refuse()
  redis.call('DEL', KEYS[1])
  return 0
end
local primary = string.match(key, '^[^\\n]*')
if purged(p .. 'pk:' .. primary) or (primary ~= key and purged(p .. 'pk:' .. key)) then
  return refuse()
end
for i = 9, #ARGV do
  if purged(p .. 'pt:' .. ARGV[i]) then return refuse() end
end
for _, pre in ipairs(redis.call('ZRANGEBYSCORE', p .. 'pp', began, '+inf')) do
  if string.sub(key, 1, #pre) == pre then return refuse() end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local now = tonumber(ARGV[6])
local cap = tonumber(ARGV[7])
for i = 9, #ARGV do
  local t = p .. 'tz:' .. ARGV[i]
  redis.call('ZADD', t, ARGV[8], KEYS[1])
  redis.call('ZREMRANGEBYSCORE', t, '-inf', now)
  local over = redis.call('ZCARD', t) - cap
  if over > 0 then
    local evicted = redis.call('ZPOPMIN', t, over)
    for j = 1, #evicted, 2 do redis.call('DEL', evicted[j]) end
  end
  if redis.call('PTTL', t) < tonumber(ARGV[2]) then redis.call('PEXPIRE', t, ARGV[2]) end
end
return 1
`
