-- Hold one unit of a slot for a conversation, never more holders than the capacity.
-- KEYS: 1 slot zset (conversation -> expiry ms), 2 slot index zset ("start:end" -> end ms)
-- ARGV: 1 conversation, 2 now ms, 3 expiry ms, 4 capacity, 5 index member, 6 slot end ms
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local outcome
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  outcome = 'refreshed'
elseif redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[4]) then
  outcome = 'held'
else
  return 'full'
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
-- The slot key lives until its latest holder expires.
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local ttl = tonumber(last[2]) - tonumber(ARGV[2])
if ttl < 1 then ttl = 1 end
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[5])
-- Slots that ended over a day ago are of no interest any more.
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[2]) - 86400000)
return outcome
