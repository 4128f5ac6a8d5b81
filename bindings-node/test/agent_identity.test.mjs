// Agent identity through the Node SDK against the real `allowly serve --dev`: enrollment (setup key) returns a
// credential whose tokens the server accepts; a check of another agent's authorization is the typed 401.

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'

import * as sdk from 'openallowly'
import { startServer } from './helpers/server.mjs'

let server
before(async () => {
  server = await startServer()
})
after(() => server?.stop())

const client = (apiKey, extra = {}) =>
  new sdk.Allowly({ apiKey, baseUrl: server.baseUrl, allowInsecureHttp: true, ...extra })

async function grant(agentId) {
  const a = await client(server.runtimeApiKey).authorizations.create({ userId: 'u', agentId, scopes: ['s'] })
  return a.authorizationId
}

test('an enrolled credential signs tokens the server accepts; another agent is refused', async () => {
  const credential = await client(server.setupApiKey).agents.enroll('node-agent')
  assert.equal(credential.agentId, 'node-agent')
  assert.equal(credential.workspaceId, server.workspaceId)
  const text = credential.credentialJson()
  const privateKey = JSON.parse(text).private_key_jwk.d
  assert.ok(!JSON.stringify(credential).includes(privateKey), 'toJSON shows ids only')
  const loaded = sdk.NativeAgentCredential.fromJson(text)
  assert.equal(loaded.keyId, credential.keyId)

  const mine = await grant('node-agent')
  const agent = client(server.runtimeApiKey, { agentCredential: loaded })
  const r = (await agent.check({ authorizationId: mine, scopes: ['s'] })).results.s
  assert.deepEqual([r.decision, r.reason, r.isFallback], ['allow', 'scope_granted', false])

  const theirs = await grant('someone-else')
  await assert.rejects(agent.check({ authorizationId: theirs, scopes: ['s'] }), (e) => {
    assert.ok(e instanceof sdk.AuthenticationError, `${e?.name}: ${e?.message}`)
    assert.equal(e.code, 'agent_token_agent_mismatch')
    return true
  })
  assert.throws(() => sdk.AgentCredential.fromJson('{"version": 2}'), (e) => e instanceof sdk.ConfigError)

  // 0.8.0's agentTokenSupplier: a function (sync or async) called before every check.
  for (const supplier of [() => loaded.token(), async () => loaded.token()]) {
    const c = client(server.runtimeApiKey, { agentTokenSupplier: supplier })
    const s = (await c.check({ authorizationId: mine, scopes: ['s'] })).results.s
    assert.equal(s.decision, 'allow')
  }
  const bad = client(server.runtimeApiKey, { agentTokenSupplier: () => 'not.a-token' })
  await assert.rejects(bad.check({ authorizationId: mine, scopes: ['s'] }), (e) => {
    assert.ok(e instanceof sdk.AuthenticationError && e.code === 'agent_token_malformed', `${e?.name}: ${e?.message}`)
    assert.ok(!e.message.includes('not.a-token'))
    return true
  })
  const empty = client(server.runtimeApiKey, { agentTokenSupplier: () => '' })
  await assert.rejects(empty.check({ authorizationId: mine, scopes: ['s'] }), (e) => e instanceof sdk.ConfigError)
})
