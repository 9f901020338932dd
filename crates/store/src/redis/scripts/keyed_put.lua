-- Store one keyed value and sweep a few expired fields of the same hash.
-- Redis before 7.4 has no per-field TTL: without the sweep, expired fields would stay
-- until the whole hash expires, which never happens to a scope written every day.
-- Each put examines a batch of fields from where the last one stopped (the cursor key),
-- so the sweep keeps pace with the writes.
-- KEYS: 1 the hash, 2 the sweep cursor
-- ARGV: 1 field, 2 envelope (JSON that starts with {"exp":<ms>), 3 ttl ms, 4 now ms
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local now = tonumber(ARGV[4])
local scanned = redis.call('HSCAN', KEYS[1], redis.call('GET', KEYS[2]) or '0', 'COUNT', 16)
local pairs_ = scanned[2]
for i = 1, #pairs_, 2 do
  local exp = tonumber(string.match(pairs_[i + 1], '^{"exp":(%-?%d+)'))
  if exp and exp <= now then
    redis.call('HDEL', KEYS[1], pairs_[i])
  end
end
if scanned[1] == '0' then
  redis.call('DEL', KEYS[2])
else
  redis.call('SET', KEYS[2], scanned[1])
end
-- The hash (and its cursor) live as long as the longest-lived field.
for _, key in ipairs(KEYS) do
  redis.call('PEXPIRE', key, ARGV[3], 'GT')
  redis.call('PEXPIRE', key, ARGV[3], 'NX')
end
return 1
