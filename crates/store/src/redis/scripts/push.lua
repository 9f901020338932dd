-- Queue one message for a conversation; one round trip (queue_message: queue.lua).
-- KEYS: 1 msgs (hash id -> body), 2 order (list of ids), 3 meta (hash due/token/lease), 4 due zset
-- ARGV: 1 conversation, 2 message id, 3 body, 4 now ms, 5 due ms, 6 ttl ms of the pending keys
return queue_message(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[2], ARGV[3],
  tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6])
