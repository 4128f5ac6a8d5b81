// Type test (`npm run typecheck`, tsc --noEmit): the seed's TypeScript against the published types, strict mode.
// Lines marked @ts-expect-error must stay errors: they prove the types reject wrong calls.

import {
  Allowly,
  AllowlyError,
  fetchKeysDoc,
  identifiers,
  loadKeysFromJson,
  RateLimitError,
  ValidationError,
  VerificationError,
  verifyReceipt,
  type CreatedMember,
  type Decision,
  type EscalationResolved,
  type Member,
  type EscalationMonitor,
  type Reason,
  type ScopeResult,
} from 'openallowly'

declare const user: { email: string; allowlyAuthorizationId: string }
declare function sendEmail(args: { threadId: string }): Promise<void>
declare function askUser(hint: string | null | undefined): Promise<boolean>

export async function walkthrough(workspaceId: string): Promise<void> {
  const allowly = new Allowly({ apiKey: process.env.ALLOWLY_KEY!, timeoutMs: 5_000, fallbackByScope: { 'email.read': 'open' } })
  const allowlyUserId: string = identifiers.fromEmail(user.email, { pepper: process.env.ALLOWLY_PII_PEPPER! })
  const authorization = await allowly.authorizations.create({
    userId: allowlyUserId,
    agentId: 'my-email-agent',
    scopes: ['email.read', { name: 'email.send', constraints: { maxPerDay: 10, confirmWhen: [{ field: 'amount', op: 'gt', value: 5 }] } }],
    expiresAt: '2026-12-31T00:00:00Z',
    metadata: { source: 'onboarding' },
    budgetLimitMicros: 50_000_000,
  })
  const authorizationId: string = authorization.authorizationId

  const result = await allowly.check({
    authorizationId,
    scopes: ['email.send'],
    resource: 'gmail:thread:abc123',
    context: { initiated_by: 'user', origin: 'chat' },
    estimatedCostMicros: 24_000,
  })
  const scopeResult: ScopeResult = result.results['email.send']
  const decision: Decision = scopeResult.decision
  if (scopeResult.decision === 'allow') {
    await sendEmail({ threadId: 'abc123' })
  } else if (scopeResult.decision === 'confirm') {
    const approved = await askUser(scopeResult.confirmPromptHint)
    await allowly.confirmations.approve(scopeResult.confirmNonce!, { approved })
  } else {
    const reason: Reason = scopeResult.reason
    switch (reason) {
      case 'rate_limit_exceeded':
      case 'authorization_revoked':
      case 'authorization_expired':
        throw new Error(`Authorization no longer valid: ${reason}`)
    }
  }

  const keys = loadKeysFromJson(await fetch(`https://api.allowly.ai/v1/workspaces/${workspaceId}/keys`).then((r) => r.json()))
  if (scopeResult.receipt?.status === 'pending') {
    const signedReceipt = await allowly.receipts.fetchSigned(scopeResult.receipt.receiptId, { timeoutMs: 10_000 })
    try {
      const verified = verifyReceipt(signedReceipt, keys, { expectedWorkspaceId: workspaceId })
      const kind: 'action' | 'event' = verified.kind
      void kind
    } catch (e) {
      if (e instanceof VerificationError) throw new Error(`Invalid receipt (${e.kind}): ${e.message}`)
      if (e instanceof ValidationError) console.log(e.fields.map((f) => f.field))
      if (e instanceof RateLimitError) console.log(e.retryAfter ?? 0)
      if (e instanceof AllowlyError) console.log(e.code, e.status)
    }
  }
  const revoked = await allowly.authorizations.revoke(authorizationId, { revokedBy: 'user' })
  const status: 'pending' | 'signed' = revoked.receipt.status
  void decision
  void status

  // @ts-expect-error: scopes is a list of scope names, not a single string
  await allowly.check({ authorizationId, scopes: 'email.send' })
  // @ts-expect-error: decisions are a closed union; 'allowed' is not one of them
  if (scopeResult.decision === 'allowed') return
  // @ts-expect-error: revoke needs to say who revoked
  await allowly.authorizations.revoke(authorizationId)
  // @ts-expect-error: the pepper is required
  identifiers.fromEmail(user.email)
}

// Policy editions: the local profile functions and the setup calls (official 0.8.0 shapes, camelCase).
import { policy, type EditionAuthorization, type PolicyEval, type PolicyPublication } from 'openallowly'

export async function policyEditions(allowly: Allowly, definition: object): Promise<void> {
  policy.validateDefinition(definition)
  const digest: string = policy.definitionDigest(definition)
  const evaluation: PolicyEval = policy.evaluate(definition, 'web.search', { risk: 2 })
  const decision: Decision = evaluation.result.decision
  const created = await allowly.policies.create({ policyId: 'research_agent', definition })
  const version: number = created.policyRef.policyVersion
  const published: PolicyPublication = await allowly.policies.publish({
    policyId: 'research_agent',
    definition,
    previousPolicyRef: created.policyRef,
    idempotencyKey: 'publish-2',
  })
  // @ts-expect-error publish needs an idempotency key: a retry must not migrate authorizations twice
  await allowly.policies.publish({ policyId: 'research_agent', definition })
  const grant: EditionAuthorization = await allowly.authorizations.createFromPolicy({
    userId: 'subject:abc',
    policyId: 'research_agent',
    policyVersion: version,
    actions: ['web.search'],
  })
  const monitor = await allowly.confirmations.getStatus('cnf_1')
  const ready: boolean = await allowly.readiness()
  const escalateTo: string | undefined = (await allowly.check({ authorizationId: grant.authorizationId, scopes: ['web.search'] }))
    .results['web.search'].escalationTo
  void [digest, decision, published, monitor.authorityStatus, ready, escalateTo]
}

// The official 0.8.0 SDK's capabilities, the Node way: a bytes pepper and a version, the pinned key document, and the
// escalation monitor.
async function official080(allowly: Allowly) {
  const fromBytes: string = identifiers.fromEmail(user.email, { pepper: new Uint8Array([1, 2, 3]), version: 'v1' })
  // @ts-expect-error a pepper is text or bytes
  identifiers.fromEmail(user.email, { pepper: 42 })
  const doc: object = await fetchKeysDoc('ws_1', { baseUrl: 'https://api.allowly.ai', expectedSha256: 'ab'.repeat(32) })
  const keys = loadKeysFromJson(doc)
  const escalation: EscalationMonitor = await allowly.escalations.getStatus('esc_1')
  const same: EscalationMonitor = await allowly.escalations.get('esc_1')
  const to: string | undefined = escalation.escalationTo
  void [fromBytes, keys, same.authorityStatus, to]
}
void official080

// Escalations answered by named members: members with a setup key, answers with the member's own credential.
async function escalations(setup: Allowly, member: Allowly) {
  const created: CreatedMember = await setup.admin.members.create({ memberId: 'l1', displayName: 'Level one' })
  const credential: string = created.credential
  const members: Member[] = await setup.admin.members.list()
  await setup.admin.members.rotateCredential('l1')
  const removed = await setup.admin.members.revoke('l1')
  await setup.authorizations.create({
    userId: 'u', agentId: 'bot', scopes: ['pay'], requiresEscalationFor: ['pay'],
    escalationTargets: { pay: ['member:l1', 'member:l2'] },
  })
  const step: EscalationResolved = await member.escalations.approve('esc_1', { note: 'ok', resolvedBy: 'member:l1' })
  await member.escalations.reject('esc_1')
  await member.escalations.resolve('esc_1', 'rejected', { note: 'no' })
  // @ts-expect-error a resolution is approved or rejected
  await member.escalations.resolve('esc_1', 'maybe')
  const next: string | undefined = step.escalationTo
  const done: EscalationMonitor = await member.escalations.waitFor('esc_1', { timeoutMs: 30_000, pollIntervalMs: 500 })
  const levels: number | undefined = done.steps[0]?.level
  void [credential, members.length, removed.revokedAt, next, levels]
}
void escalations
