-- Record one customer message: dedupe mark, history append, pause/mute check, queue push.
-- One round trip (queue_message: queue.lua). Redis does not undo a script's writes when it fails halfway, so every
-- read and check comes first and nothing after the first write can fail.
-- KEYS: 1 seen mark, 2 log (list), 3 conversation index (zset), 4 mute, 5 paused switch,
--       6 msgs (hash), 7 order (list), 8 meta (hash), 9 due zset
-- ARGV: 1 dedupe ttl ms, 2 turn JSON, 3 turns kept, 4 retention ms, 5 turn time ms,
--       6 conversation, 7 message id, 8 pending JSON, 9 now ms, 10 due ms,
--       11 ttl ms of the pending keys, 12 answerable (1/0)
-- Returns 0 duplicate, 1 queued, 2 not answerable, 3 paused, 4 muted.
local now = tonumber(ARGV[9])
local outcome = 1
if ARGV[12] ~= '1' then
  outcome = 2
elseif redis.call('EXISTS', KEYS[5]) == 1 then
  outcome = 3
else
  local mute = redis.call('GET', KEYS[4])
  if mute then
    local ok, decoded = pcall(cjson.decode, mute)
    if not ok or type(decoded) ~= 'table' then
      return redis.error_reply('ERR corrupt mute record')
    end
    if (tonumber(decoded['until']) or 0) > now then
      outcome = 4
    end
  end
end
if not redis.call('SET', KEYS[1], 1, 'NX', 'PX', ARGV[1]) then
  return 0
end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[3]), -1)
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[6])
redis.call('PEXPIRE', KEYS[3], ARGV[4])
if outcome ~= 1 then
  return outcome
end
queue_message(KEYS[6], KEYS[7], KEYS[8], KEYS[9], ARGV[6], ARGV[7], ARGV[8], now,
  tonumber(ARGV[10]), ARGV[11])
return 1
