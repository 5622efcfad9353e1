-- wrk script: POST a mix of requests read from the file named by $WRK_MIX (one per line:
-- "PATH<TAB>JSON BODY"), count responses per status, print one "WRK_RESULT {json}" line.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  requests = {}
  for line in io.lines(os.getenv("WRK_MIX")) do
    local path, body = line:match("^([^\t]+)\t(.*)$")
    if path then
      local headers = { ["Content-Type"] = "application/json" }
      table.insert(requests, wrk.format("POST", path, headers, body))
    end
  end
  statuses = {}
  sent = math.random(#requests)
end

function request()
  sent = sent + 1
  return requests[sent % #requests + 1]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(counts) do
    table.insert(parts, string.format('"%d": %d', status, n))
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "statuses": {%s}, "connect": %d, '
      .. '"read": %d, "write": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, '
      .. '"p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, table.concat(parts, ", "), e.connect, e.read,
    e.write, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
