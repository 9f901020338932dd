-- Shared by push.lua and record.lua (prepended to each when the scripts are built).
-- Queues message `id` (JSON `body`) unless already pending, and moves the conversation's
-- due time to `due`; under a live lease it becomes claimable at the later of due and the
-- lease's end. Returns 1 when the message was added, 0 when it was already pending.
local function queue_message(msgs, order, meta, due_set, conv, id, body, now, due, ttl)
  if redis.call('HSETNX', msgs, id, body) == 0 then
    return 0
  end
  redis.call('RPUSH', order, id)
  redis.call('HSET', meta, 'due', due)
  local lease = tonumber(redis.call('HGET', meta, 'lease') or '0')
  local ready = due
  if lease > now and lease > due then
    ready = lease
  end
  redis.call('ZADD', due_set, ready, conv)
  for _, key in ipairs({msgs, order, meta}) do
    redis.call('PEXPIRE', key, ttl)
  end
  return 1
end
