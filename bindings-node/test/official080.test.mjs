// Capabilities of the official 0.8.0 SDK, the Node way, against a real `allowly serve --dev`: `fetchKeysDoc` (the
// pin enforced by core, the document loading and verifying a receipt) and `escalations.getStatus` on the dev server's
// demo edition (`walkthrough`: `email.send` to more than 50 recipients escalates to `member:compliance`).

import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, before, test } from 'node:test'

import {
  Allowly,
  ConfigError,
  NotFoundError,
  VerificationError,
  fetchKeysDoc,
  loadKeysFromJson,
  verifyReceipt,
} from 'openallowly'
import { startServer } from './helpers/server.mjs'

let server
let client
before(async () => {
  server = await startServer()
  client = new Allowly({ apiKey: server.runtimeApiKey, baseUrl: server.baseUrl, allowInsecureHttp: true })
})
after(() => server?.stop())

const keysUrl = () => `${server.baseUrl.replace(/\/$/, '')}/v1/workspaces/${server.workspaceId}/keys`

test('fetchKeysDoc with the right pin loads and verifies a receipt', async () => {
  const bytes = Buffer.from(await (await fetch(keysUrl())).arrayBuffer())
  const pin = createHash('sha256').update(bytes).digest('hex')
  const doc = await fetchKeysDoc(server.workspaceId, {
    baseUrl: server.baseUrl,
    expectedSha256: pin.toUpperCase(),
    cacheTtlSeconds: 0,
    allowInsecureHttp: true,
  })
  assert.equal(doc.workspace_id, server.workspaceId)
  const keys = loadKeysFromJson(doc)

  const auth = await client.authorizations.create({ userId: 'u-keys-doc', agentId: 'agent-keys', scopes: ['email.read'] })
  const result = (await client.check({ authorizationId: auth.authorizationId, scopes: ['email.read'] })).results['email.read']
  const signed = await client.receipts.fetchSigned(result.receipt.receiptId)
  assert.equal(verifyReceipt(signed, keys, { expectedWorkspaceId: server.workspaceId }).decision, 'allow')
})

test('fetchKeysDoc refuses a pin mismatch and plain HTTP', async () => {
  await assert.rejects(
    fetchKeysDoc(server.workspaceId, {
      baseUrl: server.baseUrl,
      expectedSha256: '0'.repeat(64),
      cacheTtlSeconds: 0,
      allowInsecureHttp: true,
    }),
    (e) => e instanceof VerificationError && e.code === 'key_document',
  )
  await assert.rejects(fetchKeysDoc(server.workspaceId, { baseUrl: server.baseUrl }), (e) => e instanceof ConfigError)
})

test('escalations.getStatus reads a pending escalation of an edition grant', async () => {
  const auth = await client.authorizations.createFromPolicy({
    userId: 'subject:escalation',
    policyId: server.policy.policy_id,
    policyVersion: server.policy.policy_version,
  })
  const result = (
    await client.check({
      authorizationId: auth.authorizationId,
      scopes: ['email.send'],
      context: { recipient_count: 80 },
    })
  ).results['email.send']
  assert.equal(result.decision, 'escalate')
  assert.equal(result.escalationTo, 'member:compliance')
  const status = await client.escalations.getStatus(result.escalationId)
  assert.equal(status.escalationId, result.escalationId)
  assert.equal(status.authorizationId, auth.authorizationId)
  assert.equal(status.action, 'email.send')
  assert.equal(status.status, 'pending')
  assert.equal(status.authorityStatus, 'none')
  assert.equal(status.escalationTo, 'member:compliance')
  assert.equal(status.sourceReceiptId, result.receipt.receiptId)
  assert.deepEqual(await client.escalations.get(result.escalationId), status)
  await assert.rejects(client.escalations.getStatus(`esc_${'0'.repeat(26)}`), (e) => e instanceof NotFoundError)
})
