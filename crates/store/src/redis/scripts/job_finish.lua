-- Complete or retry a claimed job if the fencing token still matches.
-- KEYS: 1 job hash, 2 ready zset
-- ARGV: 1 job key, 2 token, 3 'done' or 'retry', 4 done: marker retention ms; retry: due ms
-- Returns -1 on a stale token (or a job gone or done), 1 otherwise.
if redis.call('HGET', KEYS[1], 'done') or redis.call('HGET', KEYS[1], 'token') ~= ARGV[2] then
  return -1
end
redis.call('HDEL', KEYS[1], 'token')
if ARGV[3] == 'done' then
  redis.call('HSET', KEYS[1], 'done', 1)
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
else
  redis.call('HSET', KEYS[1], 'due', ARGV[4], 'ready', ARGV[4])
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
end
return 1
