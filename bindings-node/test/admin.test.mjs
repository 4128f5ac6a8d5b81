// The admin client (`client.admin`, a setup key's calls) against a real `allowly serve --dev`: API keys shown once,
// the webhook endpoint, signing-key rotation, audit pages and the async iterator with filters, the export, and a
// runtime key refused with PermissionDeniedError on each call.

import assert from 'node:assert/strict'
import { inspect } from 'node:util'
import { after, before, test } from 'node:test'

import { Admin, Allowly, NotFoundError, PermissionDeniedError, ValidationError } from 'openallowly'
import { startServer } from './helpers/server.mjs'

let server
let admin
let runtime
before(async () => {
  server = await startServer()
  admin = new Allowly({ apiKey: server.setupApiKey, baseUrl: server.baseUrl, allowInsecureHttp: true })
  runtime = new Allowly({ apiKey: server.runtimeApiKey, baseUrl: server.baseUrl, allowInsecureHttp: true })
})
after(async () => {
  await server?.stop()
})

test('API keys are shown once, listed by prefix and revoked', async () => {
  assert.ok(admin.admin instanceof Admin)
  const created = await admin.admin.apiKeys.create({ tier: 'runtime', name: 'node ci' })
  assert.ok(created.key.startsWith('allowly_rt_') && created.key.startsWith(created.prefix))
  // Readable once, but logging the answer does not print it.
  assert.ok(!inspect(created).includes(created.key) && !JSON.stringify(created).includes(created.key))
  const fresh = new Allowly({ apiKey: created.key, baseUrl: server.baseUrl, allowInsecureHttp: true })
  await fresh.authorizations.create({ userId: 'u', agentId: 'bot', scopes: ['a'] })
  const listed = await admin.admin.apiKeys.list()
  const mine = listed.filter((k) => k.id === created.id)
  assert.deepEqual(mine.map((k) => [k.name, k.tier, k.revokedAt ?? null]), [['node ci', 'runtime', null]])
  assert.ok(!inspect(listed).includes(created.key))
  const revoked = await admin.admin.apiKeys.revoke(created.id)
  assert.equal(revoked.id, created.id)
  await assert.rejects(admin.admin.apiKeys.create({ tier: 'root', name: 'x' }), (e) => e instanceof ValidationError && e.fields[0].field === 'tier')
  await assert.rejects(admin.admin.apiKeys.revoke('key_missing'), NotFoundError)
})

test('the webhook endpoint and signing-key rotation', async () => {
  const hook = await admin.admin.webhook.set('http://127.0.0.1:9/hook')
  assert.ok(hook.signingSecret.startsWith('whsec_'))
  assert.ok(!inspect(hook).includes(hook.signingSecret) && !JSON.stringify(hook).includes(hook.signingSecret))
  const read = await admin.admin.webhook.get()
  assert.equal(read.url, hook.url)
  assert.ok(read.events.length > 0 && !('signingSecret' in read))
  await admin.admin.webhook.delete()
  await assert.rejects(admin.admin.webhook.get(), NotFoundError)
  const rotation = await admin.admin.signingKeys.rotate()
  assert.equal(rotation.workspaceId, server.workspaceId)
})

test('audit filters, pages, iterates and exports', async () => {
  const auth = await runtime.authorizations.create({ userId: 'u-node-audit', agentId: 'bot-node', scopes: ['mail.send'] })
  const ids = [auth.receipt.receiptId]
  for (const [scope, run] of [['mail.send', 'r1'], ['files.delete', 'r1'], ['mail.send', 'r2']]) {
    const result = await runtime.check({ authorizationId: auth.authorizationId, scopes: [scope], context: { run_id: run } })
    ids.push(result.results[scope].receipt.receiptId)
  }
  for (const id of ids) await runtime.receipts.fetchSigned(id, { pollIntervalMs: 50, timeoutMs: 20000 })

  const sends = await admin.admin.audit.list({ action: 'mail.send', agentId: 'bot-node' })
  assert.deepEqual(sends.receipts.map((r) => r.receiptId), [ids[3], ids[1]])
  assert.equal(sends.nextCursor ?? null, null)
  const denied = await admin.admin.audit.list({ runId: 'r1', decision: 'deny', userId: 'u-node-audit' })
  assert.deepEqual(denied.receipts.map((r) => JSON.parse(r.json).reason), ['scope_not_in_authorization'])
  const first = await admin.admin.audit.list({ userId: 'u-node-audit', limit: 3 })
  const rest = await admin.admin.audit.list({ userId: 'u-node-audit', limit: 3, cursor: first.nextCursor })
  assert.deepEqual([...first.receipts, ...rest.receipts].map((r) => r.receiptId), [...ids].reverse())

  const walked = []
  for await (const r of admin.admin.audit.iter({ userId: 'u-node-audit', limit: 1 })) walked.push(r.receiptId)
  assert.deepEqual(walked, [...ids].reverse())
  assert.throws(() => admin.admin.audit.iter({ limit: 0 }), ValidationError)

  const exported = (await admin.admin.audit.export({ since: '2000-01-01T00:00:00Z' })).filter((r) => ids.includes(r.receiptId))
  assert.deepEqual(exported.map((r) => r.receiptId), ids)
  assert.equal(exported[1].json, sends.receipts[1].json)
})

test('a runtime key is refused on every admin call', async () => {
  const calls = [
    () => runtime.admin.apiKeys.list(),
    () => runtime.admin.apiKeys.create({ tier: 'setup', name: 'x' }),
    () => runtime.admin.webhook.get(),
    () => runtime.admin.signingKeys.rotate(),
    () => runtime.admin.audit.list(),
    async () => { for await (const _ of runtime.admin.audit.iter()) break },
    () => runtime.admin.audit.export(),
  ]
  for (const call of calls) {
    await assert.rejects(call(), (e) => e instanceof PermissionDeniedError && e.code === 'insufficient_key_tier')
  }
})
