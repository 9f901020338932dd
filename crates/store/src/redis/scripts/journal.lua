-- Write a turn's journal, fenced by the lease: only the holder of the current, live lease
-- may write.
-- KEYS: 1 meta, 2 journal
-- ARGV: 1 token, 2 now ms, 3 journal JSON ({"token":..,"body":..}), 4 ttl ms
-- Returns 1 when written, -1 when the lease is no longer ours.
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then
  return -1
end
if (tonumber(redis.call('HGET', KEYS[1], 'lease') or '0') or 0) <= tonumber(ARGV[2]) then
  return -1
end
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
return 1
