-- Shared by every bench script: auth header and the summary the harness parses.
local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

-- Non-2xx answers by status code, per thread; done() sums them.
local threads = {}
statuses = {}

function setup(thread)
  table.insert(threads, thread)
end

function response(status, headers, body)
  if status > 399 then
    statuses[status] = (statuses[status] or 0) + 1
  end
end

-- done() runs once with every thread's numbers merged; wrk's own --latency table
-- has no p95, so print the percentiles we need as `BENCH key value` lines.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH requests %d\n", summary.requests))
  io.write(string.format("BENCH duration_us %d\n", summary.duration))
  io.write(string.format("BENCH errors_connect %d\n", e.connect))
  io.write(string.format("BENCH errors_read %d\n", e.read))
  io.write(string.format("BENCH errors_write %d\n", e.write))
  io.write(string.format("BENCH errors_status %d\n", e.status))
  io.write(string.format("BENCH errors_timeout %d\n", e.timeout))
  for _, p in ipairs({50, 90, 95, 99}) do
    io.write(string.format("BENCH p%d_us %d\n", p, latency:percentile(p)))
  end
  io.write(string.format("BENCH max_us %d\n", latency.max))
  local total = {}
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses") or {}) do
      total[code] = (total[code] or 0) + n
    end
  end
  for code, n in pairs(total) do
    io.write(string.format("BENCH status_%d %d\n", code, n))
  end
end
