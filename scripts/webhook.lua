-- wrk script for scripts/bench-webhook.sh: POSTs precomputed, correctly signed Instagram
-- webhook bodies, each one once per thread's share, and prints raw latency percentiles.
--
-- Environment: BODIES  file of "signature<TAB>body" lines (inkdesk-loadgen --write-bodies)
--              WRK_THREADS, WRK_CONNECTIONS  the -t and -c given to wrk
--
-- Thread k of n sends lines k, k+n, k+2n, … so no two requests carry the same message id
-- (the server would short-cut a duplicate). A thread that runs out starts over; the
-- summary's repeats= says how many requests went beyond the file (then make it longer).
--
-- Raw percentiles: wrk 4.1 "corrects" its latency histogram for coordinated omission
-- before reporting (stats_correct in wrk.c: for every recorded latency v and the mean
-- interval e = duration / (requests / connections) it adds synthetic samples
-- v-e, v-2e, … while above e). That turns one long stall into many slow samples. done()
-- undoes it: the correction gives corrected[m] = raw[m] + raw[m+e] + raw[m+2e] + … for
-- m > e, so raw[m] = corrected[m] - corrected[m+e].

local requests = {}
local count = 0
local next_index = 0

local thread_counter = 0
function setup(thread)
  thread:set("thread_id", thread_counter)
  thread_counter = thread_counter + 1
end

function init(args)
  local path = assert(os.getenv("BODIES"), "set BODIES to the bodies file")
  local threads = tonumber(os.getenv("WRK_THREADS") or "1")
  local me = thread_id or 0
  local line_no = 0
  for line in io.lines(path) do
    if line_no % threads == me then
      local tab = line:find("\t", 1, true)
      count = count + 1
      requests[count] = wrk.format("POST", nil, {
        ["Content-Type"] = "application/json",
        ["X-Hub-Signature-256"] = line:sub(1, tab - 1),
      }, line:sub(tab + 1))
    end
    line_no = line_no + 1
  end
  assert(count > 0, "no bodies in " .. path)
end

function request()
  next_index = next_index + 1
  if next_index > count then
    next_index = 1
  end
  return requests[next_index]
end

function done(summary, latency, requests_stats)
  local connections = tonumber(os.getenv("WRK_CONNECTIONS") or "1")
  local complete = summary.requests
  local per_conn = math.floor(complete / connections)
  local e = 0
  if per_conn > 0 then
    e = math.floor(summary.duration / per_conn)
  end
  local corrected, values = {}, {}
  for i = 1, #latency do
    local v, k = latency(i)
    corrected[v] = k
    values[#values + 1] = v
  end
  local raw, total = {}, 0
  for _, v in ipairs(values) do
    local r = corrected[v]
    if e > 0 and v > e then
      r = r - (corrected[v + e] or 0)
    end
    raw[v] = r
    total = total + r
  end
  local function pct(p)
    local rank = math.ceil(p / 100 * total)
    if rank < 1 then rank = 1 end
    local seen = 0
    for _, v in ipairs(values) do
      seen = seen + raw[v]
      if seen >= rank then return v / 1000 end
    end
    return values[#values] / 1000
  end
  local errors = summary.errors
  local lines = 0
  for _ in io.lines(os.getenv("BODIES")) do lines = lines + 1 end
  local bad = errors.connect + errors.read + errors.write + errors.timeout + errors.status
  io.write(string.format(
    "RAW requests=%d samples=%d seconds=%.1f throughput=%.0f p50=%.2fms p90=%.2fms " ..
    "p99=%.2fms p99.9=%.2fms max=%.2fms errors=%d repeats=%d\n",
    complete, total, summary.duration / 1e6, complete / (summary.duration / 1e6),
    pct(50), pct(90), pct(99), pct(99.9), latency.max / 1000, bad,
    math.max(0, complete - lines)))
end
