-- Compare-and-set of history entries: every listed entry must still hold its old body,
-- then all are replaced; otherwise nothing changes and 0 tells the caller to read again
-- (an append that trimmed the list shifts every index).
-- KEYS: 1 log list
-- ARGV: index, old body, new body, … (repeated)
for i = 1, #ARGV, 3 do
  if redis.call('LINDEX', KEYS[1], tonumber(ARGV[i])) ~= ARGV[i + 1] then
    return 0
  end
end
for i = 1, #ARGV, 3 do
  redis.call('LSET', KEYS[1], tonumber(ARGV[i]), ARGV[i + 2])
end
return 1
