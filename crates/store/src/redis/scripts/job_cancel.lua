-- Remove a job in any state.
-- KEYS: 1 job hash, 2 ready zset
-- ARGV: 1 job key
-- Returns 1 when a job that was not done was removed, 0 otherwise.
local done = redis.call('HGET', KEYS[1], 'done')
local existed = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if existed == 1 and not done then
  return 1
end
return 0
