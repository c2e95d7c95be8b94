-- The one wrk script of the benchmarks, configured through the environment:
--
--   BENCH_METHOD    GET (default) or POST
--   BENCH_PATH      the request path; __ID__ in it is replaced by an id (default: the URL's path)
--   BENCH_BODY      the request body (sent as application/json); __ID__ is replaced too
--   BENCH_TOKEN     a bearer token sent with every request (a signed-in viewer)
--   BENCH_IDS_FILE  a file of ids, one a line: each request takes one at random for __ID__.
--                   Without it every request is the same and is built once, which keeps wrk's
--                   own cost per request as low as it goes.
--
-- At the end it prints one line that bench/lib.sh reads:
--   BENCH_RESULT requests=N duration_us=N rps=X p50_us=N p90_us=N p99_us=N mean_us=X max_us=N
--                errors=N non2xx=N
-- (errors: connect, read, write and timeout errors; non2xx: answers with a status >= 400.)

local method = os.getenv("BENCH_METHOD") or "GET"
local path = os.getenv("BENCH_PATH")
local body = os.getenv("BENCH_BODY")
local ids_file = os.getenv("BENCH_IDS_FILE")
local token = os.getenv("BENCH_TOKEN")

wrk.method = method
if body then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end
if path then
  wrk.path = path
end
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

if ids_file and ids_file ~= "" then
  local ids = {}

  function init(args)
    for line in io.lines(ids_file) do
      if line ~= "" then
        ids[#ids + 1] = line
      end
    end
    assert(#ids > 0, "no ids in " .. ids_file)
    math.randomseed(os.time() * 100 + (thread_number or 0))
  end

  function request()
    local id = ids[math.random(#ids)]
    local p = wrk.path:gsub("__ID__", id)
    local b = body and body:gsub("__ID__", id) or nil
    return wrk.format(nil, p, nil, b)
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d mean_us=%.1f max_us=%d errors=%d non2xx=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean,
    latency.max, e.connect + e.read + e.write + e.timeout, e.status))
end
