-- Store a claimed job's progress and renew its lease, if the fencing token still matches
-- and the lease has not run out.
-- KEYS: 1 job hash, 2 ready zset
-- ARGV: 1 job key, 2 token, 3 progress JSON, 4 now ms, 5 new lease end ms
-- Returns -1 on a stale token or an expired lease (or a job gone or done), 1 otherwise.
if redis.call('HGET', KEYS[1], 'done') or redis.call('HGET', KEYS[1], 'token') ~= ARGV[2] then
  return -1
end
local ready = tonumber(redis.call('HGET', KEYS[1], 'ready'))
if not ready or ready <= tonumber(ARGV[4]) then
  return -1
end
redis.call('HSET', KEYS[1], 'progress', ARGV[3], 'ready', ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
return 1
