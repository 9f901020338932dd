-- Unexpired holds on slots overlapping [from, to).
-- KEYS: 1 slot index zset ("start:end" -> end ms)
-- ARGV: 1 from ms, 2 to ms, 3 now ms, 4 slot key head ("{prefix:holds}:slot:")
-- Returns a flat list: member, conversation, member, conversation, ...
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf')
local out = {}
for _, m in ipairs(members) do
  local s = string.match(m, '^(%-?%d+):')
  if s and tonumber(s) < tonumber(ARGV[2]) then
    local key = ARGV[4] .. m
    redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[3])
    local holders = redis.call('ZRANGE', key, 0, -1)
    if #holders == 0 then
      redis.call('ZREM', KEYS[1], m)
    end
    for _, c in ipairs(holders) do
      out[#out + 1] = m
      out[#out + 1] = c
    end
  end
end
return out
