// Checks per second from one Node process through @allowly/sdk, with N checks in flight, against `allowly serve
// --dev` on loopback (SQLite). Not part of `make test`.
//
//   (cd bindings-node && npm run build:release) && node bench/node_checks.mjs [SECONDS=10] [IN_FLIGHT=256]
//
// The server is target/debug/allowly unless ALLOWLY_BIN names another build (e.g. target/release/allowly, which is
// what a throughput number should be measured against). Only answers from the server count; a fallback result (the
// server did not answer in time) is reported separately.

import { Allowly } from '../bindings-node/lib/index.mjs'
import { startServer } from '../bindings-node/test/helpers/server.mjs'

const seconds = Number(process.argv[2] ?? 10)
const inFlight = Number(process.argv[3] ?? 256)

const server = await startServer()
try {
  const allowly = new Allowly({ apiKey: server.runtimeApiKey, baseUrl: server.baseUrl, allowInsecureHttp: true })
  const { authorizationId } = await allowly.authorizations.create({
    userId: 'bench-user',
    agentId: 'bench-agent',
    scopes: ['email.read'],
  })
  const request = { authorizationId, scopes: ['email.read'] }
  for (let i = 0; i < 200; i++) await allowly.check(request) // warm up the pool and the server

  let answered = 0
  let fallbacks = 0
  const latencies = []
  const end = performance.now() + seconds * 1000
  const started = performance.now()
  const worker = async () => {
    while (performance.now() < end) {
      const t = performance.now()
      const result = await allowly.check(request)
      latencies.push(performance.now() - t)
      if (result.results['email.read'].isFallback) fallbacks++
      else answered++
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker))
  const elapsed = (performance.now() - started) / 1000
  latencies.sort((a, b) => a - b)
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))].toFixed(1)
  console.log(
    `node ${process.version}, ${inFlight} in flight, ${elapsed.toFixed(1)} s, server ${process.env.ALLOWLY_BIN ?? 'target/debug/allowly'}`,
  )
  console.log(`${(answered / elapsed).toFixed(0)} checks/s answered by the server (${answered} checks, ${fallbacks} fallbacks)`)
  console.log(`latency ms: p50 ${pct(0.5)}  p99 ${pct(0.99)}`)
} finally {
  await server.stop()
}
