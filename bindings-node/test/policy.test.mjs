// Policy editions in Node: the shared conformance data (tests/conformance/policy-profile-v1, also read by
// core/tests/policy_conformance.rs and the Python and Kotlin suites) through the `policy` namespace, and the client's
// policy, edition-grant, confirmation-monitor and readiness calls against a local recording HTTP server (our
// `allowly serve` does not answer these routes yet; the end-to-end run against it is a separate suite).

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { test } from 'node:test'

import { Allowly, ValidationError, policy } from 'openallowly'

const data = new URL('../../tests/conformance/policy-profile-v1/', import.meta.url)
const load = (name) => JSON.parse(readFileSync(new URL(name, data), 'utf8'))
const cases = load('cases.json')
const official = new Map(load('official-policy-profile-v1.json').signature_cases.map((c) => [c.name, c.definition]))

test('every official case evaluates to its signed result', () => {
  assert.equal(cases.length, 53)
  let recovered = 0
  for (const c of cases) {
    const definition = official.get(c.name)
    assert.deepEqual(policy.validateDefinition(definition), definition, c.name)
    assert.equal(policy.definitionDigest(definition), c.expected_definition_sha256, c.name)
    const evaluation = policy.evaluate(definition, c.action, c.context)
    const expected = c.expected
    // napi leaves `null` members out of the object; JSON.stringify drops the `undefined` ones on both sides.
    const plain = (o) => JSON.parse(JSON.stringify(o))
    assert.deepEqual(
      plain(evaluation.result),
      plain({
        profile: expected.profile,
        status: expected.status,
        decision: expected.decision,
        target: expected.target ?? undefined,
        matchedRuleId: expected.matched_rule_id ?? undefined,
        evaluatedFields: expected.evaluated_fields,
      }),
      c.name,
    )
    assert.equal(policy.inputDigest(definition, c.action, c.context), evaluation.inputSha256, c.name)
    if (c.input === 'recovered') {
      recovered += 1
      assert.equal(evaluation.inputSha256, c.expected_input_sha256, c.name)
    }
  }
  assert.equal(recovered, 13)
})

// `1.0` is the number 1 in JavaScript, so a definition "refused for a float" that is integral cannot be written here.
const INTEGRAL_IN_JS = new Set(['float_expiry'])

test('every invalid definition is refused at its path', () => {
  for (const c of load('invalid-definitions.json')) {
    if (INTEGRAL_IN_JS.has(c.name)) {
      assert.equal(policy.validateDefinition(c.definition).default_expiry_days, 1)
      continue
    }
    // A lone surrogate survives JSON.parse in JavaScript; core refuses it when the value crosses into Rust.
    const definition = c.definition ?? JSON.parse(c.definition_json)
    assert.throws(
      () => policy.validateDefinition(definition),
      (e) => e instanceof ValidationError && (c.expected_path === null || e.fields[0].field === c.expected_path),
      c.name,
    )
  }
})

test('every valid variant is accepted and the engine names itself', () => {
  for (const c of load('valid-definitions.json')) {
    assert.equal(policy.definitionDigest(c.definition).length, 64, c.name)
  }
  assert.match(policy.engineVersion(), /^sha256:[0-9a-f]{64}$/)
})

const definition = {
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
        ],
      },
      guards: {},
      executable_operations: [],
    },
  ],
  default_expiry_days: 30,
}
const ref = (version) => ({
  policy_id: 'research_agent',
  policy_version: version,
  definition_sha256: policy.definitionDigest(definition),
})
const pending = (id) => ({ status: 'pending', receipt_id: id, ready_at_estimate: null, url: null })

/** A server answering `routes["METHOD path"]` and recording every request. */
async function recorder(routes) {
  const requests = []
  const server = createServer((req, res) => {
    let text = ''
    req.on('data', (chunk) => (text += chunk))
    req.on('end', () => {
      requests.push({ method: req.method, url: req.url, headers: req.headers, body: text ? JSON.parse(text) : null })
      const [status, body] = routes[`${req.method} ${req.url}`] ?? [404, { error: { code: 'not_found', message: 'no route' } }]
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(status === 204 ? '' : JSON.stringify(body))
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const client = new Allowly({
    apiKey: 'allowly_rt_' + '0'.repeat(32),
    baseUrl: `http://127.0.0.1:${server.address().port}`,
    allowInsecureHttp: true,
  })
  return { client, requests, close: () => new Promise((resolve) => server.close(resolve)) }
}

test('policies: create, get, list, preview, publish and archive', async () => {
  const evaluation = policy.evaluate(definition, 'web.search', { risk: 2 })
  const body = { policy_ref: ref(1), definition, description: null, created_by: 'k', created_at: '2026-12-06T00:00:00Z' }
  const { client, requests, close } = await recorder({
    'POST /v1/policies': [201, body],
    'GET /v1/policies/research_agent': [200, body],
    'GET /v1/policies?limit=20': [200, { items: [body], has_more: false, next_cursor: null }],
    'POST /v1/setup/policies/preview': [
      200,
      {
        provisional: true,
        definition_sha256: policy.definitionDigest(definition),
        action: 'web.search',
        policy_eval: {
          input_sha256: evaluation.inputSha256,
          result: { profile: 'allowly.basic.v1', status: 'ok', decision: 'confirm', target: 'agent_owner', matched_rule_id: 'review-high-risk', evaluated_fields: { risk: 2 } },
        },
      },
    ],
    'POST /v1/setup/policies/publish': [
      201,
      {
        policy_ref: ref(2),
        agent_id: 'research_agent',
        created_by: 'k',
        created_at: '2026-12-06T00:00:00Z',
        authorization_migrations: [{ user_id: 'u', previous_authorization_id: 'auth_a', authorization_id: 'auth_b' }],
        archived_policy_ids: [],
        revoked_confirmation_count: 0,
      },
    ],
    'DELETE /v1/policies/research_agent': [204, null],
  })
  try {
    const created = await client.policies.create({ policyId: 'research_agent', definition })
    assert.equal(created.policyRef.policyVersion, 1)
    const preview = await client.policies.preview({ definition, action: 'web.search', context: { risk: 2 } })
    assert.equal(preview.policyEval.result.decision, 'confirm')
    const retained = await client.policies.get('research_agent')
    assert.deepEqual(retained.definition, definition)
    const page = await client.policies.list({ limit: 20 })
    assert.equal(page.items.length, 1)
    const published = await client.policies.publish({
      policyId: 'research_agent',
      definition,
      previousPolicyRef: retained.policyRef,
      idempotencyKey: 'publish-2',
    })
    assert.equal(published.policyRef.policyVersion, 2)
    assert.equal(published.authorizationMigrations[0].authorizationId, 'auth_b')
    assert.equal(await client.policies.archive('research_agent', { idempotencyKey: 'arch-1' }), undefined)
    const publish = requests.find((r) => r.url === '/v1/setup/policies/publish')
    assert.equal(publish.headers['idempotency-key'], 'publish-2')
    assert.deepEqual(publish.body.previous_policy_ref, ref(1))
  } finally {
    await close()
  }
})

test('an invalid definition never leaves the process', async () => {
  const bad = structuredClone(definition)
  bad.actions[0].policy.rules[0].conditions[0].op = 'roughly'
  const { client, requests, close } = await recorder({})
  try {
    await assert.rejects(client.policies.create({ policyId: 'research_agent', definition: bad }), (e) => {
      return e instanceof ValidationError && e.fields[0].field === 'actions[0].policy.rules[0].conditions[0].op'
    })
    await assert.rejects(client.policies.preview({ definition: bad, action: 'web.search', context: {} }), ValidationError)
    assert.equal(requests.length, 0)
  } finally {
    await close()
  }
})

test('edition grants, the confirmation monitor and readiness', async () => {
  const { client, requests, close } = await recorder({
    'POST /v1/authorizations': [
      201,
      {
        authorization_id: 'auth_e',
        policy_ref: ref(1),
        actions: ['web.search'],
        created_at: '2026-12-06T00:00:00Z',
        expires_at: '2027-01-05T00:00:00Z',
        receipt: pending('rcp_c'),
        authorization_provenance: { kind: 'api_key' },
      },
    ],
    'GET /v1/confirmations/cnf_1/status': [
      200,
      {
        confirmation_id: 'cnf_1',
        authorization_id: 'auth_e',
        action: 'web.search',
        resource: null,
        status: 'approved',
        expires_at: '2026-12-06T01:00:00Z',
        resolved_at: '2026-12-06T00:01:00Z',
        source_receipt_id: 'rcp_s',
        resolution_receipt_id: 'rcp_r',
        authority_status: 'available',
        child_authorization_id: 'auth_e',
        authority_expires_at: '2026-12-06T01:00:00Z',
      },
    ],
    'GET /readyz': [503, { status: 'unavailable', database: false, signer: true }],
  })
  try {
    const grant = await client.authorizations.createFromPolicy({
      userId: 'subject:abc',
      policyId: 'research_agent',
      policyVersion: 1,
      actions: ['web.search'],
    })
    assert.equal(grant.policyRef.policyId, 'research_agent')
    assert.deepEqual(grant.authorizationProvenance, { kind: 'api_key' })
    assert.deepEqual(requests[0].body, {
      user_id: 'subject:abc',
      policy_id: 'research_agent',
      policy_version: 1,
      actions: ['web.search'],
      metadata: {},
    })
    const status = await client.confirmations.getStatus('cnf_1')
    assert.equal(status.authorityStatus, 'available')
    assert.equal(await client.readiness(), false)
  } finally {
    await close()
  }
})
