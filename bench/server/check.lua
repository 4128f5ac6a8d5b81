-- wrk script: POST /v1/check for one scope (ALLOWLY_API_KEY from env), for one authorization (ALLOWLY_AUTH_ID) or,
-- when ALLOWLY_AUTH_IDS holds a comma-separated list, for each of them in turn (checks on different authorizations
-- take different row locks on PostgreSQL; bench/server/scaleout.py measures both cases).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("ALLOWLY_API_KEY")

local function body(auth)
  return '{"authorization_id":"' .. auth .. '","scopes":["email.read"]}'
end

local bodies = {}
for id in string.gmatch(os.getenv("ALLOWLY_AUTH_IDS") or "", "[^,]+") do
  bodies[#bodies + 1] = body(id)
end
if #bodies == 0 then
  wrk.body = body(os.getenv("ALLOWLY_AUTH_ID"))
else
  local next_body = math.random(#bodies)
  request = function()
    next_body = next_body % #bodies + 1
    return wrk.format(nil, nil, nil, bodies[next_body])
  end
end

-- No `response` callback: wrk counts answers ≥ 400 itself (summary.errors.status), and a callback makes it hand every
-- response's headers and body to Lua, CPU the generator takes from the server on these shared cores.
done = function(summary, latency, requests)
  io.write(string.format("checks/s %.0f  p50 %.2f ms  p99 %.2f ms  non-200 %d  socket errors %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
