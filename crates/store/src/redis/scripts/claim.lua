-- Lease up to N claimable conversations (score <= now) with a fresh fencing token each.
-- KEYS: 1 due zset, 2 token counter
-- ARGV: 1 now ms, 2 lease end ms, 3 max, 4 conversation key head ("{prefix:conv:"), 5 ttl ms
-- Touches the conversations' own keys, which are not in KEYS: see the crate doc (Cluster).
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, conv in ipairs(ids) do
  local base = ARGV[4] .. conv .. '}'
  local msgs, order, meta = base .. ':msgs', base .. ':order', base .. ':meta'
  local mids = redis.call('LRANGE', order, 0, -1)
  if #mids == 0 then
    redis.call('DEL', msgs, order, meta)
    redis.call('ZREM', KEYS[1], conv)
  else
    local token = redis.call('INCR', KEYS[2])
    redis.call('HSET', meta, 'token', token, 'lease', ARGV[2])
    local attempt = redis.call('HINCRBY', meta, 'attempts', 1)
    redis.call('ZADD', KEYS[1], ARGV[2], conv)
    local entry = { conv, tostring(token), tostring(attempt) }
    for _, mid in ipairs(mids) do
      local body = redis.call('HGET', msgs, mid)
      if body then
        entry[#entry + 1] = body
      end
    end
    for _, k in ipairs({ msgs, order, meta }) do
      redis.call('PEXPIRE', k, ARGV[5])
    end
    out[#out + 1] = entry
  end
end
return out
