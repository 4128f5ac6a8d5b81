// openallowly/mcp on @modelcontextprotocol/server 2.x, against allowly serve --dev. The 2026-07-28 era goes through
// the SDK's own HTTP entry (createMcpHandler): as raw JSON-RPC, so the test controls the request's `_meta` envelope,
// `inputResponses` and `requestState` (and can tamper, move and replay them), and through the official 2.x client
// (@modelcontextprotocol/client), which answers the input request and retries by itself. The 2025-11-25 era is an old
// (@modelcontextprotocol/sdk 1.x) client talking to the same 2.x server in memory. Tool bodies append to `ran`, so
// every assertion about a tool running counts real runs.

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'

import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js'
import { InMemoryTransport, McpServer, createMcpHandler } from '@modelcontextprotocol/server'
import { z } from 'zod/v4'

import { Allowly } from 'openallowly'
import { AllowlyMCPMiddleware, NO_TRUSTED_IDENTITY_HELP } from 'openallowly/mcp'
import { linkReadmeAlias } from './helpers/readme-alias.mjs'
import { startServer } from './helpers/server.mjs'

const NEW = '2026-07-28'
const FORM = { elicitation: { form: {} } }

let server
let allowly
before(async () => {
  server = await startServer()
  allowly = new Allowly({ apiKey: server.runtimeApiKey, baseUrl: server.baseUrl, allowInsecureHttp: true })
})
after(() => server?.stop())

/** A fresh user with read_inbox and a confirm-gated send_email, so one test's answers never leak into another's. */
async function newUser(name, { inbox = true } = {}) {
  const userId = `${name}-${Math.random().toString(36).slice(2)}`
  const authorization = await allowly.authorizations.create({
    userId,
    agentId: 'my-email-agent',
    scopes: [...(inbox ? ['read_inbox'] : []), { name: 'send_email', constraints: { confirmPrompt: 'Send this email?' } }],
    requiresConfirmFor: ['send_email'],
  })
  return { userId, authorizationId: authorization.authorizationId }
}

function middleware(users, options = {}) {
  const table = new Map(users.map((u) => [u.userId, u.authorizationId]))
  return new AllowlyMCPMiddleware({
    client: allowly,
    authorizationIdFn: async (userId) => table.get(userId),
    ...options,
  })
}

/** The seed's tools on a 2.x McpServer, gated by `gate`. */
function emailServer(gate, ran) {
  const mcp = new McpServer({ name: 'my-email-agent', version: '1.0' })
  gate.attach(mcp)
  const user = { user_id: z.string().optional() }
  mcp.registerTool('send_email', { inputSchema: z.object({ ...user, thread_id: z.string(), body: z.string() }) }, async ({ thread_id }) => {
    ran.push(`send_email:${thread_id}`)
    return { content: [{ type: 'text', text: `msg-${thread_id}` }] }
  })
  mcp.registerTool('read_inbox', { inputSchema: z.object(user) }, async () => {
    ran.push('read_inbox')
    return { content: [{ type: 'text', text: 'inbox' }] }
  })
  mcp.registerTool('delete_everything', { inputSchema: z.object(user) }, async () => {
    ran.push('delete_everything')
    return { content: [{ type: 'text', text: 'gone' }] }
  })
  return mcp
}

/** A 2026-07-28 client speaking raw JSON-RPC to the SDK's HTTP entry; `user` is what the transport authenticated. */
function newEraClient(gate, ran) {
  const handler = createMcpHandler(() => emailServer(gate, ran))
  let id = 0
  const call = async (name, args, { user, capabilities = FORM, retry, authInfo: given } = {}) => {
    const params = {
      name,
      arguments: args,
      ...retry,
      _meta: {
        'io.modelcontextprotocol/protocolVersion': NEW,
        'io.modelcontextprotocol/clientCapabilities': capabilities,
        'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
      },
    }
    const headers = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': NEW,
      'mcp-method': 'tools/call',
      'mcp-name': name,
    }
    const body = JSON.stringify({ jsonrpc: '2.0', id: ++id, method: 'tools/call', params })
    const authInfo = given ?? (user === undefined ? undefined : { token: 't', clientId: 'agent-app', scopes: [], extra: { sub: user } })
    const response = await handler.fetch(new Request('http://127.0.0.1/mcp', { method: 'POST', headers, body }), { authInfo })
    return response.json()
  }
  return { call, close: () => handler.close() }
}

const text = (result) => result.content.map((c) => c.text).join('')
const accept = (requestState) => ({ inputResponses: { allowly_confirmation: { action: 'accept', content: {} } }, requestState })
const decline = (requestState) => ({ inputResponses: { allowly_confirmation: { action: 'decline' } }, requestState })

test('2026-07-28: granted runs, ungranted is denied without running, no identity gets the help text', async () => {
  const alice = await newUser('alice')
  const ran = []
  const client = newEraClient(middleware([alice]), ran)
  const ok = await client.call('read_inbox', {}, { user: alice.userId })
  assert.equal(text(ok.result), 'inbox')
  assert.equal(ok.result._meta['allowly.ai/decision'], 'allow')
  assert.equal(ok.result._meta['allowly.ai/receipt_ids'].length, 1)
  const denied = await client.call('delete_everything', {}, { user: alice.userId })
  assert.equal(denied.result.isError, true)
  assert.equal(text(denied.result), 'denied by Allowly: scope_not_in_authorization (scope delete_everything)')
  const anonymous = await client.call('read_inbox', { user_id: alice.userId })
  assert.equal(anonymous.result.isError, true)
  assert.equal(text(anonymous.result), NO_TRUSTED_IDENTITY_HELP)
  assert.equal(anonymous.result._meta['allowly.ai/reason'], 'no_trusted_identity')
  assert.deepEqual(ran, ['read_inbox'])
  await client.close()
})

test('2026-07-28: a user_id argument never chooses the authorization', async () => {
  const alice = await newUser('alice')
  const bob = await newUser('bob', { inbox: false })
  const ran = []
  const client = newEraClient(middleware([alice, bob]), ran)
  // Bob's authorization decides Bob's call, whoever the model names: Alice may read her inbox, Bob may not.
  const asAlice = await client.call('read_inbox', { user_id: alice.userId }, { user: bob.userId })
  assert.equal(text(asAlice.result), 'denied by Allowly: scope_not_in_authorization (scope read_inbox)')
  // A token's clientId names the OAuth client (the app), not a user: it is never taken as the identity.
  const appOnly = await client.call('read_inbox', {}, { authInfo: { token: 't', clientId: alice.userId, scopes: [] } })
  assert.equal(text(appOnly.result), NO_TRUSTED_IDENTITY_HELP)
  const unknown = await client.call('read_inbox', { user_id: alice.userId }, { user: 'mallory' })
  assert.equal(text(unknown.result), 'denied by Allowly: authorization_not_found (scope read_inbox)')
  assert.deepEqual(unknown.result._meta['allowly.ai/receipt_ids'], [], 'no request was made')
  assert.deepEqual(ran, [])
  await client.close()
})

test('2026-07-28: a confirm yields one input request; the accepted retry runs once, a replay is refused', async () => {
  const alice = await newUser('alice')
  const ran = []
  const client = newEraClient(middleware([alice]), ran)
  const args = { thread_id: 't1', body: 'hi' }
  const first = await client.call('send_email', args, { user: alice.userId })
  assert.equal(first.result.resultType, 'input_required')
  assert.deepEqual(Object.keys(first.result.inputRequests), ['allowly_confirmation'])
  const question = first.result.inputRequests.allowly_confirmation
  assert.equal(question.method, 'elicitation/create')
  assert.match(question.params.message, /^Send this email\?\n\nAllow the agent to run the tool `send_email`/)
  assert.equal(typeof first.result.requestState, 'string')
  assert.deepEqual(ran, [])

  const sent = await client.call('send_email', args, { user: alice.userId, retry: accept(first.result.requestState) })
  assert.equal(text(sent.result), 'msg-t1')
  assert.equal(sent.result._meta['allowly.ai/reason'], 'user_confirmed')
  assert.equal(sent.result._meta['allowly.ai/receipt_ids'].length, 3, 'confirm, resolution and re-check receipts')
  assert.deepEqual(ran, ['send_email:t1'])

  const replayed = await client.call('send_email', args, { user: alice.userId, retry: accept(first.result.requestState) })
  assert.equal(replayed.error.code, -32602)
  assert.deepEqual(ran, ['send_email:t1'], 'the replay never ran the tool')
  await client.close()
})

test('2026-07-28: a declined retry never runs the tool', async () => {
  const alice = await newUser('alice')
  const ran = []
  const client = newEraClient(middleware([alice]), ran)
  const args = { thread_id: 't2', body: 'x' }
  const first = await client.call('send_email', args, { user: alice.userId })
  const declined = await client.call('send_email', args, { user: alice.userId, retry: decline(first.result.requestState) })
  assert.equal(declined.result.isError, true)
  assert.match(text(declined.result), /denied by Allowly: user_rejected/)
  assert.deepEqual(ran, [])
  await client.close()
})

test('2026-07-28: tampered, moved and foreign requestState are refused with -32602', async () => {
  const alice = await newUser('alice')
  const bob = await newUser('bob')
  const ran = []
  const gate = middleware([alice, bob])
  const client = newEraClient(gate, ran)
  const args = { thread_id: 't3', body: 'x' }
  const { result } = await client.call('send_email', args, { user: alice.userId })
  const state = result.requestState
  const flipped = state.slice(0, -2) + (state.at(-2) === 'A' ? 'B' : 'A') + state.at(-1)
  const attempts = [
    ['tampered', args, alice.userId, flipped],
    ['other arguments', { ...args, body: 'something else' }, alice.userId, state],
    ['another caller', args, bob.userId, state],
    ['not a state', args, alice.userId, 'garbage'],
  ]
  for (const [why, callArgs, user, requestState] of attempts) {
    const refused = await client.call('send_email', callArgs, { user, retry: accept(requestState) })
    assert.equal(refused.error?.code, -32602, why)
  }
  // Another middleware (another key) cannot open this one's state either.
  const other = newEraClient(middleware([alice]), ran)
  assert.equal((await other.call('send_email', args, { user: alice.userId, retry: accept(state) })).error?.code, -32602)
  // The untouched state still works: nothing above consumed it.
  const sent = await client.call('send_email', args, { user: alice.userId, retry: accept(state) })
  assert.equal(text(sent.result), 'msg-t3')
  assert.deepEqual(ran, ['send_email:t3'])
  await client.close()
  await other.close()
})

test('2026-07-28: middlewares given one requestStateKey open each other\'s states; a bad key is refused', async () => {
  const { randomBytes } = await import('node:crypto')
  const alice = await newUser('alice')
  const ran = []
  const requestStateKey = randomBytes(32)
  // Two processes behind one endpoint: the retry reaches the other one.
  const first = newEraClient(middleware([alice], { requestStateKey }), ran)
  const second = newEraClient(middleware([alice], { requestStateKey: new Uint8Array(requestStateKey) }), ran)
  const args = { thread_id: 't5', body: 'x' }
  const asked = await first.call('send_email', args, { user: alice.userId })
  const sent = await second.call('send_email', args, { user: alice.userId, retry: accept(asked.result.requestState) })
  assert.equal(text(sent.result), 'msg-t5')
  assert.deepEqual(ran, ['send_email:t5'])
  assert.throws(() => middleware([alice], { requestStateKey: randomBytes(16) }), (e) => e instanceof TypeError && /32 bytes, not 16/.test(e.message))
  await first.close()
  await second.close()
})

test('2026-07-28: a request that declared no elicitation gets -32021, never a question', async () => {
  const alice = await newUser('alice')
  const ran = []
  const client = newEraClient(middleware([alice]), ran)
  const answer = await client.call('send_email', { thread_id: 't4', body: 'x' }, { user: alice.userId, capabilities: {} })
  assert.equal(answer.result, undefined)
  assert.equal(answer.error.code, -32021)
  assert.deepEqual(answer.error.data, { requiredCapabilities: { elicitation: { form: {} } } })
  assert.deepEqual(ran, [])
  await client.close()
})

/** An old (1.x SDK, 2025-11-25) client connected in memory to the 2.x server. */
async function oldEraClient(gate, ran, { user, elicitation } = {}) {
  const client = new Client({ name: 'old', version: '1.0' }, { capabilities: elicitation ? FORM : {} })
  const asked = []
  if (elicitation) {
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      asked.push(request.params.message)
      return { action: elicitation, content: {} }
    })
  }
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
  if (user !== undefined) {
    const send = clientSide.send.bind(clientSide)
    clientSide.send = (message, options) => send(message, { ...options, authInfo: { token: 't', clientId: 'agent-app', scopes: [], extra: { sub: user } } })
  }
  await Promise.all([emailServer(gate, ran).connect(serverSide), client.connect(clientSide)])
  return { client, asked }
}

test('2025-11-25 client on the 2.x server: elicitation is pushed; accept runs once, decline never', async () => {
  const alice = await newUser('alice')
  const bob = await newUser('bob')
  const ran = []
  const gate = middleware([alice, bob])
  const accepting = await oldEraClient(gate, ran, { user: alice.userId, elicitation: 'accept' })
  const sent = await accepting.client.callTool({ name: 'send_email', arguments: { thread_id: 'o1', body: 'hi' } })
  assert.equal(text(sent), 'msg-o1')
  assert.equal(sent._meta['allowly.ai/reason'], 'user_confirmed')
  assert.equal(accepting.asked.length, 1)
  assert.match(accepting.asked[0], /^Send this email\?\n\nAllow the agent to run the tool `send_email`/)
  const declining = await oldEraClient(gate, ran, { user: bob.userId, elicitation: 'decline' })
  const refused = await declining.client.callTool({ name: 'send_email', arguments: { thread_id: 'o2', body: 'x' } })
  assert.match(text(refused), /denied by Allowly: user_rejected/)
  assert.equal(declining.asked.length, 1)
  assert.deepEqual(ran, ['send_email:o1'])
  await accepting.client.close()
  await declining.client.close()
})

test('2025-11-25 client on the 2.x server: no elicitation → an isError result naming the confirmation', async () => {
  const alice = await newUser('alice')
  const ran = []
  const { client } = await oldEraClient(middleware([alice]), ran, { user: alice.userId })
  const result = await client.callTool({ name: 'send_email', arguments: { thread_id: 'o3', body: 'x' } })
  assert.equal(result.isError, true)
  assert.match(
    text(result),
    /^confirmation required by Allowly: scope_requires_user_confirmation — ask the user: Send this email\? \(confirmation [^)]+\); this MCP client cannot ask the user/,
  )
  // A user_id argument does not pick Alice for an anonymous caller, nor Alice for Mallory.
  const anonymous = await oldEraClient(middleware([alice]), ran)
  const forged = await anonymous.client.callTool({ name: 'read_inbox', arguments: { user_id: alice.userId } })
  assert.equal(text(forged), NO_TRUSTED_IDENTITY_HELP)
  const mallory = await oldEraClient(middleware([alice]), ran, { user: 'mallory' })
  const impostor = await mallory.client.callTool({ name: 'read_inbox', arguments: { user_id: alice.userId } })
  assert.match(text(impostor), /authorization_not_found/)
  assert.deepEqual(ran, [])
  for (const c of [client, anonymous.client, mallory.client]) await c.close()
})

/** The 2.x MCP client pinned to 2026-07-28, over streamable HTTP into the SDK's HTTP entry (fetch routed in process). */
async function officialNewEraClient(gate, ran, { user, elicitation }) {
  const { Client: ClientV2, StreamableHTTPClientTransport } = await import('@modelcontextprotocol/client')
  const handler = createMcpHandler(() => emailServer(gate, ran))
  const authInfo = { token: 't', clientId: 'agent-app', scopes: [], extra: { sub: user } }
  const fetch = (url, init) => handler.fetch(new Request(url, init), { authInfo })
  const transport = new StreamableHTTPClientTransport(new URL('http://127.0.0.1/mcp'), { fetch })
  const client = new ClientV2(
    { name: 'official', version: '1.0' },
    { capabilities: elicitation ? FORM : {}, versionNegotiation: { mode: { pin: NEW } } },
  )
  const asked = []
  if (elicitation) {
    client.setRequestHandler('elicitation/create', async (request) => {
      asked.push(request.params.message)
      return { action: elicitation, content: {} }
    })
  }
  await client.connect(transport)
  return { client, asked, close: async () => (await client.close(), await handler.close()) }
}

test('2026-07-28 with the official 2.x client: it answers the input request and retries; accept runs once', async () => {
  const alice = await newUser('alice')
  const bob = await newUser('bob')
  const ran = []
  const gate = middleware([alice, bob])
  const accepting = await officialNewEraClient(gate, ran, { user: alice.userId, elicitation: 'accept' })
  const sent = await accepting.client.callTool({ name: 'send_email', arguments: { thread_id: 'n1', body: 'hi' } })
  assert.equal(text(sent), 'msg-n1')
  assert.equal(sent._meta['allowly.ai/reason'], 'user_confirmed')
  assert.equal(accepting.asked.length, 1)
  const declining = await officialNewEraClient(gate, ran, { user: bob.userId, elicitation: 'decline' })
  const refused = await declining.client.callTool({ name: 'send_email', arguments: { thread_id: 'n2', body: 'x' } })
  assert.match(text(refused), /denied by Allowly: user_rejected/)
  const unable = await officialNewEraClient(gate, ran, { user: bob.userId })
  await assert.rejects(unable.client.callTool({ name: 'send_email', arguments: { thread_id: 'n3', body: 'x' } }), (e) => e.code === -32021)
  assert.deepEqual(ran, ['send_email:n1'])
  for (const c of [accepting, declining, unable]) await c.close()
})

test("the README's MCP example runs as shown", async () => {
  const { spawnSync } = await import('node:child_process')
  const { readFileSync } = await import('node:fs')
  linkReadmeAlias()
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  const section = readme.slice(readme.indexOf('## Gating an MCP server'))
  const code = section.match(/```js\n([\s\S]*?)```/)[1]
  const env = { ...process.env, ALLOWLY_KEY: server.runtimeApiKey, ALLOWLY_BASE_URL: server.baseUrl }
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: new URL('..', import.meta.url), env, encoding: 'utf8' })
  assert.equal(run.status, 0, run.stderr)
  const [alice, mallory] = run.stdout.trim().split('\n')
  assert.equal(alice, '3 unread scope_granted')
  assert.equal(mallory, `${NO_TRUSTED_IDENTITY_HELP} no_trusted_identity`)
})

test('a 2.x low-level Server is gated too, on 2026-07-28; attaching twice fails clearly', async () => {
  const { Server } = await import('@modelcontextprotocol/server')
  const alice = await newUser('alice')
  const ran = []
  const gate = middleware([alice])
  const handler = createMcpHandler(() => {
    const low = new Server({ name: 'low', version: '1.0' }, { capabilities: { tools: {} } })
    gate.attach(low)
    low.setRequestHandler('tools/list', async () => ({ tools: [] }))
    low.setRequestHandler('tools/call', async (request) => {
      ran.push(request.params.name)
      return { content: [{ type: 'text', text: 'done' }] }
    })
    assert.throws(() => gate.attach(low), /already has an Allowly middleware/)
    return low
  })
  const raw = async (name, user) => {
    const _meta = {
      'io.modelcontextprotocol/protocolVersion': NEW,
      'io.modelcontextprotocol/clientCapabilities': FORM,
      'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
    }
    const headers = { 'content-type': 'application/json', accept: 'application/json', 'mcp-protocol-version': NEW, 'mcp-method': 'tools/call', 'mcp-name': name }
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: {}, _meta } })
    const authInfo = { token: 't', clientId: 'agent-app', scopes: [], extra: { sub: user } }
    return (await handler.fetch(new Request('http://127.0.0.1/mcp', { method: 'POST', headers, body }), { authInfo })).json()
  }
  assert.equal(text((await raw('read_inbox', alice.userId)).result), 'done')
  assert.equal((await raw('delete_everything', alice.userId)).result.isError, true)
  assert.equal((await raw('send_email', alice.userId)).result.resultType, 'input_required')
  assert.deepEqual(ran, ['read_inbox'])
  await handler.close()
})
