-- Add one to a keyed counter in one step (the login limit counts attempts with it).
-- The field holds the same envelope as keyed_put: {"exp":<ms>,"v":<count>}. A missing or
-- expired field, or one whose value is not a count, starts again at 1 for ttl; later
-- increments keep its expiry (a fixed window).
-- KEYS: 1 the hash
-- ARGV: 1 field, 2 ttl ms, 3 now ms
local now = tonumber(ARGV[3])
local count, exp = 1, now + tonumber(ARGV[2])
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then
  local e, v = string.match(current, '^{"exp":(%-?%d+),"v":(%d+)}$')
  if e and tonumber(e) > now then
    count, exp = tonumber(v) + 1, tonumber(e)
  end
end
redis.call('HSET', KEYS[1], ARGV[1], string.format('{"exp":%d,"v":%d}', exp, count))
-- The hash lives as long as its longest-lived field.
local left = exp - now
redis.call('PEXPIRE', KEYS[1], left, 'GT')
redis.call('PEXPIRE', KEYS[1], left, 'NX')
return count
