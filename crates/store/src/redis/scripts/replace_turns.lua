-- Replaces history entries by content, wherever they are now: an append that trimmed the
-- list meanwhile shifts every index, so each entry is found again by its old body (LPOS,
-- Redis 6.0.6+). An entry trimmed away meanwhile is gone and needs no change.
-- KEYS: 1 log list
-- ARGV: old body, new body, … (repeated)
-- Returns how many entries were replaced.
local replaced = 0
for i = 1, #ARGV, 2 do
  local at = redis.call('LPOS', KEYS[1], ARGV[i])
  if at then
    redis.call('LSET', KEYS[1], at, ARGV[i + 1])
    replaced = replaced + 1
  end
end
return replaced
