-- Read the calendar entries that may overlap [from, to) and the write versions of the
-- given local dates, in one atomic step (what a booking's check then judges).
-- KEYS: 1 entries hash (id -> JSON), 2 start index zset (id -> start ms),
--       3 versions hash (date -> counter), 4 longest entry (ms), 5 closures hash
--       (id -> JSON; few, all returned: the caller keeps those on its dates)
-- ARGV: 1 from ms, 2 to ms, 3.. dates whose versions are wanted
-- Returns {versions (one per date, 0 when never written), ids, their entries' JSON,
--          every closure's JSON}.
local longest = tonumber(redis.call('GET', KEYS[4]) or '0')
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], tonumber(ARGV[1]) - longest, '(' .. ARGV[2])
local entries = {}
if #ids > 0 then
  entries = redis.call('HMGET', KEYS[1], unpack(ids))
  for i, entry in ipairs(entries) do
    if not entry then entries[i] = '' end
  end
end
local versions = {}
for i = 3, #ARGV do
  versions[#versions + 1] = tonumber(redis.call('HGET', KEYS[3], ARGV[i]) or '0')
end
return {versions, ids, entries, redis.call('HVALS', KEYS[5])}
