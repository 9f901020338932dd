-- Write one calendar entry if nothing the caller's check depended on changed since it read.
-- The check itself (the studio's rules and capacity, decided by the availability engine on
-- the entries calendar_read.lua returned) is valid exactly when every date it read still has
-- the version it saw and the entry is still what it was: then the write happens here, in
-- the same atomic step, and bumps the versions of every date the entry occupies.
-- KEYS: 1 entries hash, 2 start index zset (entries that take time), 3 bookings zset
--       (live bookings by start), 4 the owner's zset (the conversation's bookings),
--       5 versions hash, 6 longest entry (ms)
-- ARGV: 1 id, 2 expected JSON ('' = the id must be unused), 3 new JSON ('' = delete),
--       4 start ms ('' = takes no time), 5 length ms, 6 '1' = a live booking,
--       7 '1' = listed under its owner, 8 number of checked dates n,
--       9..8+2n date/version pairs, then the dates to bump
-- Returns {'ok'} | {'changed', current JSON or ''} | {'conflict'}
local id = ARGV[1]
local current = redis.call('HGET', KEYS[1], id)
if (current or '') ~= ARGV[2] then
  return {'changed', current or ''}
end
local checked = tonumber(ARGV[8])
for i = 0, checked - 1 do
  local date = ARGV[9 + 2 * i]
  local seen = tonumber(ARGV[10 + 2 * i])
  if tonumber(redis.call('HGET', KEYS[5], date) or '0') ~= seen then
    return {'conflict'}
  end
end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], id)
else
  redis.call('HSET', KEYS[1], id, ARGV[3])
end
if ARGV[4] == '' or ARGV[3] == '' then
  redis.call('ZREM', KEYS[2], id)
else
  redis.call('ZADD', KEYS[2], ARGV[4], id)
  local longest = tonumber(redis.call('GET', KEYS[6]) or '0')
  if tonumber(ARGV[5]) > longest then
    redis.call('SET', KEYS[6], ARGV[5])
  end
end
if ARGV[6] == '1' and ARGV[4] ~= '' then
  redis.call('ZADD', KEYS[3], ARGV[4], id)
else
  redis.call('ZREM', KEYS[3], id)
end
if ARGV[7] == '1' and ARGV[4] ~= '' then
  redis.call('ZADD', KEYS[4], ARGV[4], id)
elseif ARGV[7] ~= '1' then
  redis.call('ZREM', KEYS[4], id)
end
for i = 9 + 2 * checked, #ARGV do
  redis.call('HINCRBY', KEYS[5], ARGV[i], 1)
end
return {'ok'}
