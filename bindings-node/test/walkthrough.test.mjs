// The seed's TypeScript walkthrough (seeds/000), step by step, against a real `allowly serve --dev`. The snippets are
// the seed's code with the TypeScript-only syntax removed; `db`, `user`, `sendEmail`, `askUser` are the app's side.

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'

import { Allowly, identifiers, loadKeysFromJson, verifyReceipt, VerificationError } from 'openallowly'
import { startServer } from './helpers/server.mjs'

let server
let env
before(async () => {
  server = await startServer()
  env = { ALLOWLY_KEY: server.runtimeApiKey, ALLOWLY_PII_PEPPER: 'demo-pepper-for-tests-only' }
})
after(() => server?.stop())

/** The seed constructs `new Allowly({ apiKey })`; a local dev server also needs its URL and plain HTTP. */
function client(apiKey) {
  return new Allowly({ apiKey, baseUrl: server.baseUrl, allowInsecureHttp: true })
}

function fakeApp() {
  const rows = new Map()
  const sent = []
  const asked = []
  return {
    user: { id: 'u1', email: 'Alice@Example.com' },
    db: {
      users: {
        async update(id, fields) {
          rows.set(id, { ...rows.get(id), ...fields })
        },
      },
      row: (id) => rows.get(id),
    },
    sent,
    asked,
    sendEmail: async (args) => sent.push(args),
    askUser: async (hint) => (asked.push(hint), true),
  }
}

/** Step 2 of the seed, verbatim apart from types; returns what it saw. */
async function step2(allowly, user, { sendEmail, askUser }) {
  const result = await allowly.check({
    authorizationId: user.allowlyAuthorizationId,
    scopes: ['email.send'],
    resource: 'gmail:thread:abc123',
    context: { initiated_by: 'user', origin: 'chat' },
  })
  const scopeResult = result.results['email.send']
  if (scopeResult.decision === 'allow') {
    await sendEmail({ threadId: 'abc123' })
  } else if (scopeResult.decision === 'confirm') {
    const approved = await askUser(scopeResult.confirmPromptHint)
    await allowly.confirmations.approve(scopeResult.confirmNonce, { approved })
    if (approved) {
      const retry = await allowly.check({ authorizationId: user.allowlyAuthorizationId, scopes: ['email.send'] })
      if (retry.results['email.send'].decision === 'allow') await sendEmail({ threadId: 'abc123' })
    }
  } else {
    switch (scopeResult.reason) {
      case 'rate_limit_exceeded':
        throw new Error('Daily limit reached — try again tomorrow.')
      case 'authorization_revoked':
      case 'authorization_expired':
        throw new Error(`Authorization no longer valid: ${scopeResult.reason}`)
      default:
        throw new Error(`Allowly denied: ${scopeResult.reason}`)
    }
  }
  return scopeResult
}

test('seed walkthrough: authorize, check, confirm, budget, verify, revoke', async () => {
  const process = { env }
  const app = fakeApp()
  const { db, user } = app

  // Step 1 — create an authorization.
  const allowly = client(process.env.ALLOWLY_KEY)
  const allowlyUserId = identifiers.fromEmail(user.email, {
    pepper: process.env.ALLOWLY_PII_PEPPER,
  })
  assert.match(allowlyUserId, /^email_hmac:v1:[A-Za-z0-9_-]{43}$/)
  const authorization = await allowly.authorizations.create({
    userId: allowlyUserId,
    agentId: 'my-email-agent',
    scopes: ['email.read', 'email.send'],
    expiresAt: '2099-12-31T00:00:00Z',
    metadata: { source: 'onboarding' },
  })
  await db.users.update(user.id, { allowlyAuthorizationId: authorization.authorizationId })
  assert.equal(authorization.receipt.status, 'pending')
  assert.deepEqual(authorization.scopes, ['email.read', 'email.send'])
  user.allowlyAuthorizationId = db.row(user.id).allowlyAuthorizationId

  // Step 2 — allow path.
  let scopeResult = await step2(allowly, user, app)
  assert.equal(scopeResult.decision, 'allow')
  assert.equal(scopeResult.reason, 'scope_granted')
  assert.equal(app.sent.length, 1)

  // Step 2 — confirm path: the same code against an authorization that needs the user's OK for email.send.
  const confirming = await allowly.authorizations.create({
    userId: allowlyUserId,
    agentId: 'my-email-agent',
    scopes: [
      'email.read',
      { name: 'email.send', constraints: { confirmPrompt: 'Send this reply from your Gmail account?' } },
    ],
    requiresConfirmFor: ['email.send'],
  })
  const confirmUser = { allowlyAuthorizationId: confirming.authorizationId }
  const confirmed = await step2(allowly, confirmUser, app)
  assert.equal(confirmed.decision, 'confirm')
  assert.equal(confirmed.reason, 'scope_requires_user_confirmation')
  assert.deepEqual(app.asked, ['Send this reply from your Gmail account?'])
  assert.equal(app.sent.length, 2, 'the re-check after approval allowed the send')

  // Optional budgeted check.
  const budgeted = await allowly.authorizations.create({
    userId: allowlyUserId,
    agentId: 'research-agent',
    scopes: ['llm.enrich'],
    expiresAt: '2099-12-31T00:00:00Z',
    budgetLimitMicros: 50_000_000, // $50.00
  })
  {
    const result = await allowly.check({
      authorizationId: budgeted.authorizationId,
      scopes: ['llm.enrich'],
      estimatedCostMicros: 24_000,
    })
    const scopeResult = result.results['llm.enrich']
    if (scopeResult.reason === 'budget_exceeded') {
      throw new Error('This action would exceed the authorization budget.')
    }
    assert.equal(scopeResult.decision, 'allow')
    assert.equal(scopeResult.budget.limitMicros, 50_000_000)
    const over = await allowly.check({
      authorizationId: budgeted.authorizationId,
      scopes: ['llm.enrich'],
      estimatedCostMicros: 60_000_000,
    })
    assert.equal(over.results['llm.enrich'].reason, 'budget_exceeded')
  }

  // Step 3 — fetch and verify the signed receipt.
  const workspaceId = server.workspaceId
  const keysDoc = await fetch(`${server.baseUrl}/v1/workspaces/${workspaceId}/keys`).then((r) => r.json())
  const keys = loadKeysFromJson(keysDoc)
  if (scopeResult.receipt.status !== 'pending') {
    throw new Error('Receipt is already signed')
  }
  const signedReceipt = await allowly.receipts.fetchSigned(scopeResult.receipt.receiptId)
  try {
    await verifyReceipt(signedReceipt, keys)
  } catch (e) {
    if (e instanceof VerificationError) throw new Error(`Invalid receipt: ${e.message}`)
  }
  const verified = verifyReceipt(signedReceipt, keys, { expectedWorkspaceId: workspaceId })
  assert.equal(verified.receiptId, scopeResult.receipt.receiptId)
  assert.equal(verified.kind, 'action')
  assert.equal(verified.name, 'email.send')
  assert.equal(verified.decision, 'allow')
  // The same receipt edited from allow to deny must not verify.
  const tampered = signedReceipt.json.replace('"decision":"allow"', '"decision":"deny"')
  assert.notEqual(tampered, signedReceipt.json)
  assert.throws(() => verifyReceipt(tampered, keys), (e) => e instanceof VerificationError && e.code === 'signature_mismatch')
  assert.throws(
    () => verifyReceipt(signedReceipt, keys, { expectedWorkspaceId: 'ws_other' }),
    (e) => e instanceof VerificationError && e.kind === 'workspace_mismatch',
  )
  // The key document can also be fetched through the client, strictly parsed from the server's bytes.
  const fetchedKeys = await allowly.keys.fetch(workspaceId)
  assert.equal(fetchedKeys.workspaceId, workspaceId)
  assert.deepEqual(fetchedKeys.fingerprints(), keys.fingerprints())

  // Step 5 — revoke.
  {
    const result = await allowly.authorizations.revoke(user.allowlyAuthorizationId, { revokedBy: 'user' })
    assert.equal(result.receipt.status, 'pending')
    const afterRevoke = await allowly.check({ authorizationId: user.allowlyAuthorizationId, scopes: ['email.read'] })
    assert.equal(afterRevoke.results['email.read'].decision, 'deny')
    assert.equal(afterRevoke.results['email.read'].reason, 'authorization_revoked')
    await assert.rejects(step2(allowly, user, app), /Authorization no longer valid: authorization_revoked/)
  }
})
