// Policy editions through the Node SDK against a real `allowly serve --dev` (the Python suite's test_policies_e2e.py,
// the Node way): author with the setup key, preview (the server commits to the input the local evaluator does),
// publish on the previous edition, a stale publish refused, an edition grant deciding allow / confirm /
// not_approved / escalate, readiness, and the edition's wire-5 receipts verified offline.

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'

import { Allowly, ConflictError, ValidationError, policy, verifyReceipt } from 'openallowly'
import { startServer } from './helpers/server.mjs'

const DEFINITION = {
  profile: 'allowly.policy.v1',
  agent_id: 'research_agent',
  actions: [
    {
      policy: {
        profile: 'allowly.basic.v1',
        action: 'web.search',
        decision: 'allow',
        target: null,
        fields: { risk: 'integer' },
        rules: [
          {
            id: 'review-high-risk',
            decision: 'confirm',
            target: 'agent_owner',
            conditions: [{ field: 'risk', op: 'gte', value: 2 }],
          },
          {
            id: 'escalate-critical',
            decision: 'escalate',
            target: 'member:security',
            conditions: [{ field: 'risk', op: 'gte', value: 9 }],
          },
        ],
      },
      guards: {},
      executable_operations: [],
    },
  ],
  default_expiry_days: 30,
}

let server
let setup
let client
before(async () => {
  server = await startServer()
  const options = { baseUrl: server.baseUrl, allowInsecureHttp: true }
  setup = new Allowly({ apiKey: server.setupApiKey, ...options })
  client = new Allowly({ apiKey: server.runtimeApiKey, ...options })
})
after(() => server?.stop())

test('author, preview, publish on the previous edition, and a stale publish refused', async () => {
  const created = await setup.policies.create({ policyId: 'research-agent-e2e', definition: DEFINITION })
  assert.equal(created.policyRef.policyVersion, 1)
  assert.equal(created.policyRef.definitionSha256, policy.definitionDigest(DEFINITION))

  const preview = await setup.policies.preview({ definition: DEFINITION, action: 'web.search', context: { risk: 2 } })
  assert.equal(preview.provisional, true)
  assert.equal(preview.policyEval.result.decision, 'confirm')
  assert.equal(preview.policyEval.result.matchedRuleId, 'review-high-risk')
  const local = policy.evaluate(DEFINITION, 'web.search', { risk: 2 })
  assert.equal(preview.policyEval.inputSha256, local.inputSha256, 'server and SDK commit to the same input')

  const retained = await client.policies.get('research-agent-e2e')
  assert.equal(retained.policyRef.policyVersion, 1)
  const updated = { ...DEFINITION, default_expiry_days: 7 }
  const published = await setup.policies.publish({
    policyId: 'research-agent-e2e',
    definition: updated,
    previousPolicyRef: retained.policyRef,
    idempotencyKey: 'publish-research-e2e-2',
  })
  assert.equal(published.policyRef.policyVersion, 2)
  const page = await client.policies.list({ limit: 100 })
  assert.ok(page.items.some((p) => p.policyRef.policyId === 'research-agent-e2e'))

  // A stale predecessor is refused by the server, not silently overwritten.
  await assert.rejects(
    setup.policies.publish({
      policyId: 'research-agent-e2e',
      definition: DEFINITION,
      previousPolicyRef: retained.policyRef,
      idempotencyKey: 'publish-stale',
    }),
    (e) => e instanceof ConflictError,
  )
  // An invalid definition never leaves the process: the error names its path.
  const bad = structuredClone(DEFINITION)
  bad.actions[0].policy.rules[0].conditions[0].op = 'neq'
  await assert.rejects(
    setup.policies.create({ policyId: 'bad', definition: bad }),
    (e) => e instanceof ValidationError && e.message.includes('actions[0].policy.rules[0].conditions[0].op'),
  )
})

test('an edition grant decides, and its wire-5 receipts verify offline', async () => {
  const created = await setup.policies.create({ policyId: 'research-agent-grant', definition: DEFINITION })
  const auth = await client.authorizations.createFromPolicy({
    userId: 'subject:e2e',
    policyId: 'research-agent-grant',
    policyVersion: created.policyRef.policyVersion,
  })
  assert.deepEqual(auth.actions, ['web.search'])
  const decide = async (risk) =>
    (await client.check({ authorizationId: auth.authorizationId, scopes: ['web.search'], context: { risk } }))
      .results['web.search']

  const allow = await decide(1)
  assert.equal(allow.decision, 'allow')
  assert.equal(allow.reason, 'policy_allowed')
  const confirm = await decide(3)
  assert.equal(confirm.decision, 'confirm')
  assert.equal(confirm.reason, 'policy_requires_confirmation')
  const monitor = await client.confirmations.getStatus(confirm.confirmationId)
  assert.equal(monitor.status, 'pending')
  assert.equal(monitor.authorityStatus, 'none')
  const rejected = await client.confirmations.approve(confirm.confirmNonce, { approved: false })
  assert.equal(rejected.decision, 'not_approved')
  const escalate = await decide(9)
  assert.equal(escalate.decision, 'escalate')
  assert.equal(escalate.escalationTo, 'member:security')
  assert.ok(escalate.escalationId.startsWith('esc_'))
  assert.equal(await client.readiness(), true)

  const keys = await client.keys.fetch(server.workspaceId)
  for (const result of [allow, confirm, escalate]) {
    const signed = await client.receipts.fetchSigned(result.receipt.receiptId)
    const verified = verifyReceipt(signed, keys, { expectedWorkspaceId: server.workspaceId })
    assert.equal(verified.schemaVersion, '5')
    assert.equal(verified.decision, result.decision)
  }
})

test('an edition grant takes its own confirmation timeout', async () => {
  const created = await setup.policies.create({ policyId: 'research-agent-timeout', definition: DEFINITION })
  const grant = (confirmationTimeoutSeconds) =>
    client.authorizations.createFromPolicy({
      userId: 'subject:timeout',
      policyId: 'research-agent-timeout',
      policyVersion: created.policyRef.policyVersion,
      confirmationTimeoutSeconds,
    })
  await assert.rejects(
    grant(0),
    (e) => e instanceof ValidationError && e.fields.some((f) => f.field === 'confirmation_timeout_seconds'),
  )
  const auth = await grant(120)
  const confirm = (
    await client.check({ authorizationId: auth.authorizationId, scopes: ['web.search'], context: { risk: 3 } })
  ).results['web.search']
  assert.equal(confirm.decision, 'confirm')
  const monitor = await client.confirmations.getStatus(confirm.confirmationId)
  // The server's default is an hour; this grant's confirmations wait two minutes.
  const waits = (Date.parse(monitor.expiresAt) - Date.now()) / 1000
  assert.ok(waits > 60 && waits <= 121, `expires in ${waits} s`)
})
