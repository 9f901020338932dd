-- The most recently active conversations whose history still exists.
-- KEYS: 1 conversation index zset (conversation -> last turn ms)
-- ARGV: 1 limit, 2 conversation key head ("{prefix:conv:")
-- Returns a flat list: conversation, last turn body, turn count, ...
local limit = tonumber(ARGV[1])
local out = {}
local found = 0
local start = 0
while found < limit do
  local ids = redis.call('ZREVRANGE', KEYS[1], start, start + limit - 1)
  if #ids == 0 then break end
  start = start + #ids
  for _, conv in ipairs(ids) do
    if found < limit then
      local log = ARGV[2] .. conv .. '}:log'
      local last = redis.call('LINDEX', log, -1)
      if last then
        out[#out + 1] = conv
        out[#out + 1] = last
        out[#out + 1] = tostring(redis.call('LLEN', log))
        found = found + 1
      else
        -- History expired: drop it from the index too.
        redis.call('ZREM', KEYS[1], conv)
        start = start - 1
      end
    end
  end
end
return out
