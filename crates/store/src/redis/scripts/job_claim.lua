-- Lease up to N jobs whose ready time (due time, or lease end) is <= now, each with a fresh
-- fencing token.
-- KEYS: 1 ready zset, 2 token counter
-- ARGV: 1 now ms, 2 lease end ms, 3 max, 4 job hash head ("{prefix:schedule}:job:")
-- The job hashes share the zset's hash tag, so every key is in one slot.
-- Returns { {key, token, attempt, due, payload, progress or ''}, ... }.
local keys = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, k in ipairs(keys) do
  local h = ARGV[4] .. k
  if redis.call('EXISTS', h) == 0 or redis.call('HGET', h, 'done') then
    redis.call('ZREM', KEYS[1], k)
  else
    local token = redis.call('INCR', KEYS[2])
    local attempt = redis.call('HINCRBY', h, 'attempts', 1)
    redis.call('HSET', h, 'token', token, 'ready', ARGV[2])
    redis.call('ZADD', KEYS[1], ARGV[2], k)
    local f = redis.call('HMGET', h, 'due', 'payload', 'progress')
    out[#out + 1] = { k, tostring(token), tostring(attempt), f[1], f[2], f[3] or '' }
  end
end
return out
