-- wrk script for bench/run.py: POST /api/v0/management/tokens with a bearer
-- credential from $BENCH_TOKEN (a management token or an OAuth access token)
-- and a unique Idempotency-Key per request (as influx-bootstrap sends one),
-- or none at all with BENCH_NO_KEY=1.
-- done() prints one line `BENCH_JSON {...}` with counts and latency (µs).
local token = os.getenv("BENCH_TOKEN") or error("BENCH_TOKEN is not set")
local run = os.getenv("BENCH_RUN_ID") or tostring(os.time())
local no_key = os.getenv("BENCH_NO_KEY") == "1"
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
end

local counter = 0
local prefix

function init(args)
  prefix = string.format("wrk-%s-%d-", run, tid or 0)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. token
  wrk.body = '{"description":"wrk load","expiresAt":null}'
end

function request()
  if not no_key then
    counter = counter + 1
    wrk.headers["Idempotency-Key"] = prefix .. counter
  end
  return wrk.format()
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
      .. '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean))
end
