-- wrk script for disruption runs (tools/bench: deploy, restarts): counts
-- every response by status and records when the non-2xx ones happened (in
-- 1 s buckets from the start of the run), and the seconds in which fewer than
-- a fifth of the run's median responses arrived (stalls), then prints
-- machine-readable lines.
-- Socket errors (connect/read/write/timeout) have no Lua hook: wrk counts
-- them in summary.errors only.
-- BENCH_DELAY_MS (environment): each connection waits that long before its
-- next request, for a steady rate of about connections * 1000 / delay req/s.
-- BENCH_ZERO_SECONDS lists the whole seconds with no response at all.
local threads = {}
local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0") or 0

function delay()
  return delay_ms
end

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  started = os.time()
  statuses = {}
  bad = {}
  all = {}
end

function response(status, headers, body)
  local second = os.time() - started
  statuses[status] = (statuses[status] or 0) + 1
  all[second] = (all[second] or 0) + 1
  if status < 200 or status > 299 then
    bad[second] = (bad[second] or 0) + 1
  end
end

local function sorted_pairs(t)
  local keys = {}
  for k in pairs(t) do table.insert(keys, k) end
  table.sort(keys)
  local out = {}
  for _, k in ipairs(keys) do table.insert(out, k .. ":" .. t[k]) end
  return table.concat(out, ",")
end

function done(summary, latency, requests)
  local t0
  for _, t in ipairs(threads) do
    local s = t:get("started")
    if t0 == nil or s < t0 then t0 = s end
  end
  local by_status, by_second, per_second, non2xx = {}, {}, {}, 0
  for _, t in ipairs(threads) do
    local offset = t:get("started") - t0
    for k, v in pairs(t:get("statuses")) do
      by_status[k] = (by_status[k] or 0) + v
      if k < 200 or k > 299 then non2xx = non2xx + v end
    end
    for k, v in pairs(t:get("bad")) do
      by_second[k + offset] = (by_second[k + offset] or 0) + v
    end
    for k, v in pairs(t:get("all")) do
      per_second[k + offset] = (per_second[k + offset] or 0) + v
    end
  end
  -- Whole seconds of the run only (the last one is partial).
  local last = math.floor(summary.duration / 1000000) - 1
  local counts = {}
  for s = 0, last do table.insert(counts, per_second[s] or 0) end
  table.sort(counts)
  local median = counts[math.floor(#counts / 2) + 1] or 0
  -- Seconds before the first response are wrk starting up (connections,
  -- TLS handshakes on a busy machine), not a gap in the service.
  local first = 0
  while first < last and (per_second[first] or 0) == 0 do first = first + 1 end
  local slow, zero = {}, {}
  for s = first, last do
    local n = per_second[s] or 0
    if n < median / 5 then slow[s] = n end
    if n == 0 then table.insert(zero, s) end
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d bad_status=%d connect=%d read=%d write=%d timeout=%d p50_us=%d p99_us=%d non2xx=%d started=%d\n",
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), non2xx, t0))
  io.write("BENCH_STATUS " .. sorted_pairs(by_status) .. "\n")
  io.write("BENCH_NON2XX_BY_SECOND " .. sorted_pairs(by_second) .. "\n")
  io.write("BENCH_MEDIAN_PER_SECOND " .. median .. "\n")
  io.write("BENCH_SLOW_SECONDS " .. sorted_pairs(slow) .. "\n")
  io.write("BENCH_ZERO_SECONDS count=" .. #zero .. " " .. table.concat(zero, ",") .. "\n")
end
