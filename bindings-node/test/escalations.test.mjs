// Escalations answered by named members through openallowly against a real `allowly serve --dev`: members created,
// listed, rotated and removed with the setup key (the credential readable once and left out of inspect/JSON),
// `escalations.resolve / approve / reject / waitFor` with a member's own credential, and 0.8.0's `resolvedBy` passed
// through to the server's check.

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { inspect } from 'node:util'
import { after, before, test } from 'node:test'

import {
  Allowly,
  AuthenticationError,
  ConflictError,
  NotFoundError,
  PermissionDeniedError,
  TimeoutError,
  ValidationError,
} from 'openallowly'
import { linkReadmeAlias } from './helpers/readme-alias.mjs'
import { startServer } from './helpers/server.mjs'

let server
let admin
let runtime
let n = 0
const name = (prefix) => `${prefix}-node-${n++}`
const as = (apiKey) => new Allowly({ apiKey, baseUrl: server.baseUrl, allowInsecureHttp: true })

before(async () => {
  server = await startServer()
  admin = as(server.setupApiKey)
  runtime = as(server.runtimeApiKey)
})
after(async () => {
  await server?.stop()
})

async function escalate(targets) {
  const auth = await runtime.authorizations.create({
    userId: name('u'), agentId: 'bot', scopes: ['pay'], requiresEscalationFor: ['pay'], escalationTargets: { pay: targets },
  })
  const result = (await runtime.check({ authorizationId: auth.authorizationId, scopes: ['pay'], resource: 'inv:1' })).results.pay
  assert.deepEqual([result.decision, result.reason], ['escalate', 'scope_requires_escalation'])
  return { authorizationId: auth.authorizationId, result }
}

test('members are created, listed, rotated and removed; the credential never shows in inspect or JSON', async () => {
  const memberId = name('alice')
  const created = await admin.admin.members.create({ memberId, displayName: 'Alice' })
  assert.deepEqual([created.memberId, created.displayName], [memberId, 'Alice'])
  assert.ok(created.credential.startsWith('allowly_mk_'))
  assert.ok(!inspect(created).includes(created.credential) && !JSON.stringify(created).includes(created.credential))
  const listed = (await admin.admin.members.list()).filter((m) => m.memberId === memberId)
  assert.equal(listed.length, 1)
  assert.ok(!inspect(listed).includes(created.credential))
  await assert.rejects(admin.admin.members.create({ memberId }), ConflictError)
  await assert.rejects(admin.admin.members.create({ memberId: 'has space' }), (e) => e instanceof ValidationError && e.fields[0].field === 'member_id')

  const rotated = await admin.admin.members.rotateCredential(memberId)
  assert.notEqual(rotated.credential, created.credential)
  assert.ok(!inspect(rotated).includes(rotated.credential))
  const { result } = await escalate([`member:${memberId}`])
  await assert.rejects(as(created.credential).escalations.getStatus(result.escalationId), AuthenticationError)
  assert.equal((await as(rotated.credential).escalations.getStatus(result.escalationId)).escalationTo, `member:${memberId}`)

  const revoked = await admin.admin.members.revoke(memberId)
  assert.equal(revoked.memberId, memberId)
  assert.ok(revoked.revokedAt)
  await assert.rejects(as(rotated.credential).escalations.approve(result.escalationId), AuthenticationError)
  await assert.rejects(admin.admin.members.rotateCredential(memberId), NotFoundError)
  await assert.rejects(runtime.admin.members.list(), (e) => e instanceof PermissionDeniedError && e.code === 'insufficient_key_tier')
})

test('two levels are answered by their own members, each step receipted', async () => {
  const [l1, l2] = [await admin.admin.members.create({ memberId: name('l1') }), await admin.admin.members.create({ memberId: name('l2') })]
  const { result } = await escalate([`member:${l1.memberId}`, `member:${l2.memberId}`])
  const esc = result.escalationId
  assert.equal(result.escalationTo, `member:${l1.memberId}`)
  await assert.rejects(runtime.escalations.approve(esc), (e) => e instanceof PermissionDeniedError && e.code === 'member_credential_required')
  await assert.rejects(
    as(l1.credential).escalations.approve(esc, { resolvedBy: `member:${l2.memberId}` }),
    (e) => e instanceof PermissionDeniedError && e.code === 'resolved_by_mismatch',
  )
  const step = await as(l1.credential).escalations.approve(esc, { resolvedBy: `member:${l1.memberId}`, note: 'fine' })
  assert.deepEqual(
    [step.status, step.level, step.levels, step.escalationStatus, step.escalationTo, step.resolvedBy],
    ['approved', 1, 2, 'pending', `member:${l2.memberId}`, `member:${l1.memberId}`],
  )
  assert.ok(step.receipt.receiptId)
  const done = await as(l2.credential).escalations.resolve(esc, 'approved')
  assert.deepEqual([done.status, done.escalationStatus, done.level], ['approved', 'approved', 2])
  await assert.rejects(as(l2.credential).escalations.reject(esc), (e) => e instanceof ConflictError && e.code === 'escalation_not_pending')

  const monitor = await runtime.escalations.waitFor(esc, { timeoutMs: 30000, pollIntervalMs: 50 })
  assert.deepEqual([monitor.status, monitor.authorityStatus, monitor.resolvedBy], ['approved', 'available', `member:${l2.memberId}`])
  assert.deepEqual(monitor.steps.map((s) => [s.level, s.resolution, s.resolvedBy]), [
    [1, 'approved', `member:${l1.memberId}`],
    [2, 'approved', `member:${l2.memberId}`],
  ])
})

test('a rejection denies the same call once', async () => {
  const member = await admin.admin.members.create({ memberId: name('r') })
  const { authorizationId, result } = await escalate([`member:${member.memberId}`])
  const rejected = await as(member.credential).escalations.reject(result.escalationId, { note: 'no' })
  assert.deepEqual([rejected.status, rejected.escalationStatus], ['rejected', 'rejected'])
  const again = (await runtime.check({ authorizationId, scopes: ['pay'], resource: 'inv:1' })).results.pay
  assert.deepEqual([again.decision, again.reason], ['deny', 'escalation_rejected'])
})

test('bad input is refused before sending, and waiting on a pending escalation times out', async () => {
  await assert.rejects(runtime.escalations.resolve('esc_x', 'maybe'), (e) => e instanceof ValidationError && e.fields[0].field === 'resolution')
  await assert.rejects(runtime.escalations.approve('esc_x', { note: 'n'.repeat(1001) }), (e) => e instanceof ValidationError && e.fields[0].field === 'note')
  const member = await admin.admin.members.create({ memberId: name('w') })
  const { result } = await escalate([`member:${member.memberId}`])
  await assert.rejects(runtime.escalations.waitFor(result.escalationId, { timeoutMs: 200, pollIntervalMs: 50 }), TimeoutError)
})

test("the README's Escalations example runs as shown", async () => {
  linkReadmeAlias()
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  const section = readme.slice(readme.indexOf('## Escalations'))
  const code = section.match(/```js\n([\s\S]*?)```/)[1]
  const env = { ...process.env, ALLOWLY_KEY: server.runtimeApiKey, ALLOWLY_SETUP_KEY: server.setupApiKey, ALLOWLY_BASE_URL: server.baseUrl }
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: new URL('..', import.meta.url), env, encoding: 'utf8' })
  assert.equal(run.status, 0, run.stderr)
  assert.deepEqual(run.stdout.trim().split('\n'), [
    'escalate scope_requires_escalation member:team-lead-example',
    'level 1/2: approved → pending',
    'level 2/2: approved → approved',
    'approved',
    'allow escalation_approved',
  ])
  assert.ok(!(run.stdout + run.stderr).includes('allowly_mk_'))
})
