-- Remove the handled messages, close the turn journal and end the lease, if the fencing
-- token still matches.
-- KEYS: 1 msgs, 2 order, 3 meta, 4 due zset, 5 journal
-- ARGV: 1 conversation, 2 token, 3.. handled message ids
-- Returns -1 on a stale token, 1 if messages remain (queued again at their due time), 0 if done.
if redis.call('HGET', KEYS[3], 'token') ~= ARGV[2] then
  return -1
end
for i = 3, #ARGV do
  redis.call('HDEL', KEYS[1], ARGV[i])
  redis.call('LREM', KEYS[2], 0, ARGV[i])
end
redis.call('DEL', KEYS[5])
redis.call('HDEL', KEYS[3], 'token', 'lease', 'attempts')
if redis.call('LLEN', KEYS[2]) > 0 then
  redis.call('ZADD', KEYS[4], redis.call('HGET', KEYS[3], 'due') or 0, ARGV[1])
  return 1
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('ZREM', KEYS[4], ARGV[1])
return 0
