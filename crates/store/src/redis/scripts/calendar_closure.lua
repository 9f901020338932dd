-- Add or remove a closure (dates the studio or an artist is away) and bump the versions
-- of its dates, so a booking checked on those dates meanwhile is checked again.
-- KEYS: 1 closures hash (id -> JSON), 2 versions hash (date -> counter)
-- ARGV: 1 id, 2 expected JSON ('' = the id must be unused), 3 new JSON ('' = remove),
--       4.. the closure's dates
-- Returns 'ok' | 'changed'
local current = redis.call('HGET', KEYS[1], ARGV[1]) or ''
if current ~= ARGV[2] then
  return 'changed'
end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
end
for i = 4, #ARGV do
  redis.call('HINCRBY', KEYS[2], ARGV[i], 1)
end
return 'ok'
