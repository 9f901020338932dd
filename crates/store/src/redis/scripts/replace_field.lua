-- Compare-and-set of one hash field: replaced only while it still holds the old value.
-- KEYS: 1 hash
-- ARGV: 1 field, 2 old value, 3 new value
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
