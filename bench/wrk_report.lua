-- wrk script for bench/ecs_load.py: sends the ECS Authorization header and prints a JSON summary.
-- The token is read from the file named by BENCH_TOKEN_FILE, never passed as an argument.
-- The last line wrk prints is "BENCH_JSON {...}": counts, errors and latency quantiles in us.

local path = os.getenv("BENCH_TOKEN_FILE")
if path ~= nil and path ~= "" then
  local file = assert(io.open(path, "r"))
  wrk.headers["Authorization"] = file:read("*a")
  file:close()
end

local quantiles = {}
for q = 1, 99 do quantiles[#quantiles + 1] = q end
for _, q in ipairs({99.5, 99.9, 99.99}) do quantiles[#quantiles + 1] = q end

done = function(summary, latency, requests)
  local cdf = {}
  for i, q in ipairs(quantiles) do
    cdf[i] = string.format("[%g,%d]", q, latency:percentile(q))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d},' ..
    '"cdf":[%s]}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), table.concat(cdf, ",")))
end
