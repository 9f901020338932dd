-- Extend a live lease (the turn's heartbeat), if the fencing token still matches and the
-- lease has not run out.
-- KEYS: 1 msgs, 2 order, 3 meta, 4 due zset
-- ARGV: 1 conversation, 2 token, 3 now ms, 4 new lease end ms, 5 ttl ms of the keys
-- Returns 1 when renewed, -1 when the lease is no longer ours.
if redis.call('HGET', KEYS[3], 'token') ~= ARGV[2] then
  return -1
end
if (tonumber(redis.call('HGET', KEYS[3], 'lease') or '0') or 0) <= tonumber(ARGV[3]) then
  return -1
end
redis.call('HSET', KEYS[3], 'lease', ARGV[4])
local due = tonumber(redis.call('HGET', KEYS[3], 'due') or '0') or 0
local ready = tonumber(ARGV[4])
if due > ready then
  ready = due
end
redis.call('ZADD', KEYS[4], ready, ARGV[1])
for i = 1, 3 do
  redis.call('PEXPIRE', KEYS[i], ARGV[5])
end
return 1
