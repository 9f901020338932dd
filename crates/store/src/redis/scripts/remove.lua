-- Drop one pending message; a conversation left empty leaves the queue unless leased.
-- KEYS: 1 msgs, 2 order, 3 meta, 4 due zset
-- ARGV: 1 conversation, 2 message id, 3 now ms
redis.call('HDEL', KEYS[1], ARGV[2])
redis.call('LREM', KEYS[2], 0, ARGV[2])
if redis.call('LLEN', KEYS[2]) == 0 then
  local lease = tonumber(redis.call('HGET', KEYS[3], 'lease') or '0')
  if lease <= tonumber(ARGV[3]) then
    redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
    redis.call('ZREM', KEYS[4], ARGV[1])
  end
end
return 1
