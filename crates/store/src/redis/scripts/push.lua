-- Queue one message for a conversation; one round trip.
-- KEYS: 1 msgs (hash id -> body), 2 order (list of ids), 3 meta (hash due/token/lease), 4 due zset
-- ARGV: 1 conversation, 2 message id, 3 body, 4 now ms, 5 due ms, 6 ttl ms of the pending keys
if redis.call('HSETNX', KEYS[1], ARGV[2], ARGV[3]) == 0 then
  return 0
end
redis.call('RPUSH', KEYS[2], ARGV[2])
local now = tonumber(ARGV[4])
local due = tonumber(ARGV[5])
redis.call('HSET', KEYS[3], 'due', ARGV[5])
-- Under a live lease the conversation becomes claimable at the later of due and lease end.
local lease = tonumber(redis.call('HGET', KEYS[3], 'lease') or '0')
local ready = due
if lease > now and lease > due then
  ready = lease
end
redis.call('ZADD', KEYS[4], ready, ARGV[1])
for i = 1, 3 do
  redis.call('PEXPIRE', KEYS[i], ARGV[6])
end
return 1
