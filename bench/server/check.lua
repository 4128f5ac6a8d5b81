-- wrk script: POST /v1/check for one authorization and one scope (ALLOWLY_API_KEY, ALLOWLY_AUTH_ID from env).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("ALLOWLY_API_KEY")
wrk.body = '{"authorization_id":"' .. os.getenv("ALLOWLY_AUTH_ID") .. '","scopes":["email.read"]}'

local errors = 0
response = function(status, headers, body)
  if status ~= 200 then errors = errors + 1 end
end

done = function(summary, latency, requests)
  io.write(string.format("checks/s %.0f  p50 %.2f ms  p99 %.2f ms  non-200 %d  socket errors %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
