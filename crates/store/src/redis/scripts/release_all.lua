-- Release every hold of one conversation.
-- KEYS: 1 slot index zset
-- ARGV: 1 conversation, 2 slot key head ("{prefix:holds}:slot:")
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local key = ARGV[2] .. m
  redis.call('ZREM', key, ARGV[1])
  if redis.call('ZCARD', key) == 0 then
    redis.call('ZREM', KEYS[1], m)
  end
end
return 1
