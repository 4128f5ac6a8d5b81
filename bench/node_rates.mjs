// Node checks against an already running `allowly serve --dev` (P3 Node throughput, P4 Node latency); started by
// bench/run.py, which owns the server. Prints one JSON document on its last line.
//
//   node bench/node_rates.mjs sdk|fetch throughput|latency SERVER_JSON [IN_FLIGHT=256] [TOTAL=5000]
//
// `sdk` is openallowly (bindings-node, release addon); `fetch` is a raw fetch POST of the same body plus
// `response.json()`, the floor a hand-written client would pay. SERVER_JSON holds the key (never on a command line).

import { readFileSync } from 'node:fs'
import { Allowly } from '../bindings-node/lib/index.mjs'

const [impl, mode, serverFile, inFlightArg, totalArg] = process.argv.slice(2)
const srv = JSON.parse(readFileSync(serverFile, 'utf8'))
const inFlight = Number(inFlightArg ?? 256)
const total = Number(totalArg ?? 5000)
const scope = srv.scope

let check
let desc
if (impl === 'sdk') {
  const allowly = new Allowly({ apiKey: srv.runtime_api_key, baseUrl: srv.base_url, allowInsecureHttp: true })
  const request = { authorizationId: srv.authorization_id, scopes: [scope] }
  check = async () => !(await allowly.check(request)).results[scope].isFallback
  desc = 'openallowly (release addon): await allowly.check({authorizationId, scopes})'
} else {
  const body = JSON.stringify({ authorization_id: srv.authorization_id, scopes: [scope] })
  const headers = { authorization: `Bearer ${srv.runtime_api_key}`, 'content-type': 'application/json' }
  const url = `${srv.base_url}/v1/check`
  check = async () => {
    const r = await fetch(url, { method: 'POST', headers, body })
    if (!r.ok) throw new Error(`HTTP ${r.status}`)
    const j = await r.json()
    return ['allow', 'deny', 'confirm'].includes(j.results[scope].decision)
  }
  desc = "raw fetch(url, {method: 'POST', body}) + response.json()"
}

const out = { impl, mode, client: desc, node: process.version }
if (mode === 'throughput') {
  let remaining = inFlight * 2
  let answered = 0
  let fallbacks = 0
  const worker = async () => {
    while (remaining > 0) {
      remaining--
      if (await check()) answered++
      else fallbacks++
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker)) // warm-up wave
  answered = fallbacks = 0
  remaining = total
  const started = performance.now()
  await Promise.all(Array.from({ length: inFlight }, worker))
  const seconds = (performance.now() - started) / 1000
  Object.assign(out, { in_flight: inFlight, checks_per_second: answered / seconds, answered, fallbacks, seconds })
} else {
  for (let i = 0; i < 100; i++) await check()
  const lat = []
  for (let i = 0; i < total; i++) {
    const t = performance.now()
    if (!(await check())) throw new Error('a sequential check fell back: the server did not answer')
    lat.push(performance.now() - t)
  }
  lat.sort((a, b) => a - b)
  const mid = lat.length >> 1
  const median = lat.length % 2 ? lat[mid] : (lat[mid - 1] + lat[mid]) / 2
  Object.assign(out, { median_ms: median, p99_ms: lat[Math.floor(0.99 * (lat.length - 1))], checks: total })
}
console.log(JSON.stringify(out))
process.exit(0)
