-- Give a lease back without acking: the conversation is claimable again at ARGV[3] (now
-- for a release, later for a postponed retry). The attempt count and the journal stay.
-- KEYS: 1 msgs, 2 order, 3 meta, 4 due zset
-- ARGV: 1 conversation, 2 token, 3 claimable again at (ms)
if redis.call('HGET', KEYS[3], 'token') ~= ARGV[2] then
  return -1
end
redis.call('HDEL', KEYS[3], 'token', 'lease')
if redis.call('LLEN', KEYS[2]) > 0 then
  redis.call('HSET', KEYS[3], 'due', ARGV[3])
  redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
  return 1
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('ZREM', KEYS[4], ARGV[1])
return 0
