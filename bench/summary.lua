-- wrk script for throughput runs (tools/bench): no per-response hook, so wrk
-- keeps its fast path; prints one machine-readable line at the end.
-- errors.status is wrk's "Non-2xx or 3xx responses" counter (status >= 400).
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d bad_status=%d connect=%d read=%d write=%d timeout=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
