-- Store a job unless its key exists (waiting, leased or done).
-- KEYS: 1 job hash, 2 ready zset
-- ARGV: 1 job key, 2 due ms, 3 payload JSON
-- Returns 1 when stored, 0 when the key existed.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'due', ARGV[2], 'ready', ARGV[2], 'attempts', 0, 'payload', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
