// Error classes: every core variant has its class, and real server responses arrive as the right class with the
// API key nowhere in messages or inspect output.

import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { inspect } from 'node:util'
import { createServer } from 'node:http'
import { after, before, test } from 'node:test'

import * as sdk from 'openallowly'
import { startServer } from './helpers/server.mjs'

const require = createRequire(import.meta.url)
const native = require('../native/index.js')
const { CLASS_BY_KIND } = require('../lib/errors.cjs')
const cjs = require('openallowly')

let server
before(async () => {
  server = await startServer()
})
after(() => server?.stop())

const client = (apiKey, extra = {}) =>
  new sdk.Allowly({ apiKey, baseUrl: server.baseUrl, allowInsecureHttp: true, ...extra })

/** Asserts the class, its place in the hierarchy, and that no key leaks into anything printed. */
function assertError(e, Class, code, secret) {
  assert.ok(e instanceof Class, `expected ${Class.name}, got ${e?.name}: ${e?.message}`)
  assert.ok(e instanceof sdk.AllowlyError)
  assert.ok(e instanceof Error)
  assert.equal(e.name, Class.name)
  if (code) assert.equal(e.code, code)
  for (const text of [e.message, e.stack, inspect(e), JSON.stringify(e), String(e)]) {
    assert.ok(!text.includes(secret), `secret in ${text}`)
  }
  return true
}

test('every core error kind maps to its own class, exported from ESM and CJS alike', () => {
  const kinds = native.errorKinds()
  assert.deepEqual([...kinds].sort(), Object.keys(CLASS_BY_KIND).sort())
  const classes = new Set(kinds.map((k) => CLASS_BY_KIND[k]))
  assert.equal(classes.size, kinds.length)
  for (const Class of classes) {
    assert.equal(sdk[Class.name], Class, Class.name)
    assert.equal(cjs[Class.name], Class, `${Class.name} (CJS)`)
    assert.ok(Object.getPrototypeOf(Class) === sdk.AllowlyError)
  }
  assert.deepEqual(native.verificationErrorCodes(), [
    'malformed', 'schema', 'unsupported_version', 'timestamp', 'unknown_key', 'key_outside_window', 'untrusted_key',
    'workspace_mismatch', 'signature_mismatch', 'key_document', 'checkpoint',
  ])
})

test('401 from the server is AuthenticationError without the key', async () => {
  const wrongKey = 'allowly_rt_' + 'Z9'.repeat(16)
  const allowly = client(wrongKey)
  assert.ok(!inspect(allowly, { showHidden: true, depth: 5 }).includes(wrongKey))
  assert.ok(!JSON.stringify(allowly).includes(wrongKey))
  await assert.rejects(allowly.check({ authorizationId: 'auth_x', scopes: ['a'] }), (e) => {
    assert.equal(e.status, 401)
    return assertError(e, sdk.AuthenticationError, null, wrongKey)
  })
})

test('422 with fields, 404 and 409 from the server', async () => {
  const key = server.runtimeApiKey
  const allowly = client(key)
  await assert.rejects(
    allowly.authorizations.create({ userId: 'u', agentId: 'a', scopes: ['s'], expiresAt: 'not a date' }),
    (e) => {
      assertError(e, sdk.ValidationError, null, key)
      assert.equal(e.status, 422)
      assert.ok(e.fields.some((f) => f.field.includes('expires_at')), JSON.stringify(e.fields))
      return true
    },
  )
  await assert.rejects(allowly.authorizations.get('auth_does_not_exist'), (e) => {
    assert.equal(e.status, 404)
    return assertError(e, sdk.NotFoundError, null, key)
  })

  const budgeted = await allowly.authorizations.create({
    userId: 'u', agentId: 'a', scopes: ['llm.enrich'], budgetLimitMicros: 1_000_000,
  })
  const checked = await allowly.check({ authorizationId: budgeted.authorizationId, scopes: ['llm.enrich'], estimatedCostMicros: 10 })
  const receiptId = checked.results['llm.enrich'].receipt.receiptId
  const settled = await allowly.budget.settle({ checkReceiptId: receiptId, actualCostMicros: 7 })
  assert.equal(settled.deltaMicros, -3)
  await assert.rejects(allowly.budget.settle({ checkReceiptId: receiptId, actualCostMicros: 7 }), (e) => {
    assert.equal(e.status, 409)
    return assertError(e, sdk.ConflictError, 'already_settled', key)
  })
})

test('local validation, configuration, timeouts and an unreachable server', async () => {
  const key = server.runtimeApiKey
  assert.throws(() => new sdk.Allowly({ apiKey: key, baseUrl: server.baseUrl }), (e) => assertError(e, sdk.ConfigError, 'invalid_config', key))
  assert.throws(
    () => new sdk.Allowly({ apiKey: key, fallbackByScope: { a: 'sometimes' } }),
    (e) => assertError(e, sdk.ConfigError, null, key),
  )
  const allowly = client(key)
  await assert.rejects(allowly.check({ authorizationId: 'auth_x', scopes: [] }), (e) => {
    assert.equal(e.status, null)
    assert.deepEqual(e.fields.map((f) => f.field), ['scopes'])
    return assertError(e, sdk.ValidationError, 'invalid_input', key)
  })

  const authorization = await allowly.authorizations.create({
    userId: 'u', agentId: 'a', scopes: ['email.send'], requiresConfirmFor: ['email.send'],
  })
  const pending = await allowly.check({ authorizationId: authorization.authorizationId, scopes: ['email.send'] })
  const { confirmationId, confirmNonce } = pending.results['email.send']
  await assert.rejects(allowly.confirmations.waitFor(confirmationId, { timeoutMs: 200, pollIntervalMs: 50 }), (e) =>
    assertError(e, sdk.TimeoutError, 'timeout', confirmNonce),
  )
  await allowly.confirmations.approve(confirmNonce, { approved: false })
  await assert.rejects(allowly.confirmations.approve(confirmNonce, { approved: true }), (e) =>
    assertError(e, sdk.NotFoundError, null, confirmNonce),
  )

  // Nothing listens on port 9 of loopback: calls fail with NetworkError, while check fails closed instead.
  const offline = new sdk.Allowly({ apiKey: key, baseUrl: 'http://127.0.0.1:9', allowInsecureHttp: true, maxRetries: 0 })
  await assert.rejects(offline.authorizations.get('auth_x'), (e) => assertError(e, sdk.NetworkError, 'network_error', key))
  const fallback = await offline.check({ authorizationId: 'auth_x', scopes: ['a', 'b'] })
  assert.equal(fallback.results.a.decision, 'deny')
  assert.equal(fallback.results.a.reason, 'fallback_closed_unreachable')
  assert.equal(fallback.results.a.isFallback, true)
  const open = new sdk.Allowly({
    apiKey: key, baseUrl: 'http://127.0.0.1:9', allowInsecureHttp: true, maxRetries: 0, fallbackByScope: { b: 'open' },
  })
  const mixed = await open.check({ authorizationId: 'auth_x', scopes: ['a', 'b'] })
  assert.equal(mixed.results.b.decision, 'allow')
  assert.equal(mixed.results.b.reason, 'fallback_open_unreachable')
})

test('503 overloaded: ServerError keeps status and retryAfter; check falls back like an unreachable server', async () => {
  const key = server.runtimeApiKey
  // A server shedding load: every request is refused before any work, with Retry-After.
  const overloaded = createServer((req, res) => {
    req.resume()
    res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '2' })
    res.end(JSON.stringify({ error: { code: 'overloaded', message: 'over capacity', fields: [] } }))
  })
  await new Promise((resolve) => overloaded.listen(0, '127.0.0.1', resolve))
  try {
    const baseUrl = `http://127.0.0.1:${overloaded.address().port}`
    const allowly = new sdk.Allowly({
      apiKey: key, baseUrl, allowInsecureHttp: true, maxRetries: 0, fallbackByScope: { b: 'open' },
    })
    await assert.rejects(allowly.authorizations.get('auth_x'), (e) => {
      assertError(e, sdk.ServerError, 'overloaded', key)
      assert.equal(e.status, 503)
      assert.equal(e.retryAfter, 2)
      return true
    })
    const answer = await allowly.check({ authorizationId: 'auth_x', scopes: ['a', 'b'] })
    assert.equal(answer.results.a.decision, 'deny')
    assert.equal(answer.results.a.reason, 'fallback_closed_unreachable')
    assert.equal(answer.results.b.decision, 'allow')
    assert.equal(answer.results.b.reason, 'fallback_open_unreachable')
  } finally {
    overloaded.close()
  }
})
