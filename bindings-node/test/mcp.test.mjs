// openallowly/mcp with a real McpServer and a real MCP Client over InMemoryTransport, against allowly serve --dev:
// allow runs the tool, deny and no-authorization never do, confirm asks the user through elicitation. The caller is
// the transport's authenticated identity (`authInfo`), never a tool argument the model wrote.

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'

import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { Server } from '@modelcontextprotocol/sdk/server/index.js'
import { CallToolRequestSchema, ElicitRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js'
import { z } from 'zod'

import { Allowly } from 'openallowly'
import { AllowlyMCPMiddleware, NO_TRUSTED_IDENTITY_HELP } from 'openallowly/mcp'
import { startServer } from './helpers/server.mjs'

let server
let db
before(async () => {
  server = await startServer()
  const allowly = new Allowly({ apiKey: server.runtimeApiKey, baseUrl: server.baseUrl, allowInsecureHttp: true })
  const authorization = await allowly.authorizations.create({
    userId: 'user-1',
    agentId: 'my-email-agent',
    scopes: ['read_inbox', { name: 'send_email', constraints: { confirmPrompt: 'Send this email?' } }],
    requiresConfirmFor: ['send_email'],
  })
  // A second user, so the rejection recorded by one test does not turn the other's confirm into user_rejected.
  const second = await allowly.authorizations.create({
    userId: 'user-2',
    agentId: 'my-email-agent',
    scopes: [{ name: 'send_email', constraints: { confirmPrompt: 'Send this email?' } }],
    requiresConfirmFor: ['send_email'],
  })
  db = new Map([
    ['user-1', authorization.authorizationId],
    ['user-2', second.authorizationId],
  ])
})
after(() => server?.stop())

/** The seed's MCP server (step 4): the middleware is attached before the tools are registered. */
function seedServer(ran, { attachFirst = true, ...identity } = {}) {
  const mcp = new McpServer({ name: 'my-email-agent', version: '1.0' })
  const allowly = new AllowlyMCPMiddleware({
    apiKey: server.runtimeApiKey,
    baseUrl: server.baseUrl,
    allowInsecureHttp: true,
    authorizationIdFn: async (userId) => db.get(userId),
    ...identity,
  })
  if (attachFirst) allowly.attach(mcp.server)
  mcp.tool('send_email', { user_id: z.string(), thread_id: z.string(), body: z.string() }, async ({ thread_id }) => {
    ran.push(`send_email:${thread_id}`)
    return { content: [{ type: 'text', text: `msg-${thread_id}` }] }
  })
  mcp.tool('read_inbox', { user_id: z.string() }, async () => {
    ran.push('read_inbox')
    return { content: [{ type: 'text', text: 'inbox' }] }
  })
  mcp.tool('delete_everything', { user_id: z.string() }, async () => {
    ran.push('delete_everything')
    return { content: [{ type: 'text', text: 'gone' }] }
  })
  if (!attachFirst) allowly.attach(mcp)
  return mcp
}

/** An MCP client connected in memory; `user` is the subject of the token its transport validated (`authInfo.extra.sub`). */
async function connect(mcpServer, { elicitation, user } = {}) {
  const client = new Client({ name: 'test-client', version: '1.0' }, { capabilities: elicitation ? { elicitation: { form: {} } } : {} })
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
  await Promise.all([mcpServer.connect(serverSide), client.connect(clientSide)])
  return { client, asked }
}

const text = (result) => result.content.map((c) => c.text).join('')

test('allow runs the tool; ungranted and unknown users are denied without running it', async () => {
  const ran = []
  const { client } = await connect(seedServer(ran), { user: 'user-1' })
  const ok = await client.callTool({ name: 'read_inbox', arguments: { user_id: 'user-1' } })
  assert.equal(ok.isError, undefined)
  assert.equal(text(ok), 'inbox')
  assert.equal(ok._meta['allowly.ai/decision'], 'allow')
  assert.equal(ok._meta['allowly.ai/receipt_ids'].length, 1)

  const denied = await client.callTool({ name: 'delete_everything', arguments: { user_id: 'user-1' } })
  assert.equal(denied.isError, true)
  assert.match(text(denied), /denied by Allowly: scope_not_in_authorization \(scope delete_everything\)/)

  const other = await connect(seedServer(ran), { user: 'someone-else' })
  const stranger = await other.client.callTool({ name: 'read_inbox', arguments: { user_id: 'someone-else' } })
  assert.equal(stranger.isError, true)
  assert.match(text(stranger), /authorization_not_found/)
  assert.deepEqual(stranger._meta['allowly.ai/receipt_ids'], [], 'no request was made')
  assert.deepEqual(ran, ['read_inbox'])
  await client.close()
  await other.client.close()
})

// Used to run under the argument's user: the default read `arguments.user_id` when the transport had no identity,
// so a call naming user-1 ran with user-1's authorization whoever sent it.
test('a user_id tool argument never chooses whose authorization is used, unless opted in', async () => {
  const ran = []
  // No authenticated identity: refused with how to provide one, whatever the arguments say; Allowly is not asked.
  const anonymous = await connect(seedServer(ran))
  const forged = await anonymous.client.callTool({ name: 'read_inbox', arguments: { user_id: 'user-1' } })
  assert.equal(forged.isError, true)
  assert.equal(text(forged), NO_TRUSTED_IDENTITY_HELP)
  assert.equal(forged._meta['allowly.ai/reason'], 'no_trusted_identity')
  assert.deepEqual(forged._meta['allowly.ai/receipt_ids'], [], 'no request was made')
  // Authenticated as user-2 (no read_inbox grant) while the model names user-1: user-2's authorization decides.
  const impostor = await connect(seedServer(ran), { user: 'user-2' })
  const denied = await impostor.client.callTool({ name: 'read_inbox', arguments: { user_id: 'user-1' } })
  assert.equal(denied.isError, true)
  assert.match(text(denied), /scope_not_in_authorization/)
  assert.equal(denied._meta['allowly.ai/receipt_ids'].length, 1)
  assert.deepEqual(ran, [])
  // The explicit opt-in (single-user servers) reads the named argument.
  const optedIn = await connect(seedServer(ran, { userIdFromArguments: true }))
  assert.equal(text(await optedIn.client.callTool({ name: 'read_inbox', arguments: { user_id: 'user-1' } })), 'inbox')
  const named = await connect(seedServer(ran, { userIdFromArguments: 'account' }))
  const byName = await named.client.callTool({ name: 'read_inbox', arguments: { user_id: 'user-1' } })
  assert.equal(text(byName), NO_TRUSTED_IDENTITY_HELP, 'only the named argument is read')
  assert.deepEqual(ran, ['read_inbox'])
  const options = { apiKey: 'k', authorizationIdFn: () => null }
  assert.throws(() => new AllowlyMCPMiddleware({ ...options, userIdFn: () => 'u', userIdFromArguments: true }), /not both/)
  assert.throws(() => new AllowlyMCPMiddleware({ ...options, userIdFromArguments: 1 }), /boolean or an argument name/)
  for (const c of [anonymous, impostor, optedIn, named]) await c.client.close()
})

test('confirm asks the user through elicitation: accept runs the tool, decline does not', async () => {
  const ran = []
  const accepting = await connect(seedServer(ran), { elicitation: 'accept', user: 'user-1' })
  const sent = await accepting.client.callTool({ name: 'send_email', arguments: { user_id: 'user-1', thread_id: 't1', body: 'hi' } })
  assert.equal(text(sent), 'msg-t1')
  assert.equal(sent._meta['allowly.ai/reason'], 'user_confirmed')
  assert.equal(sent._meta['allowly.ai/receipt_ids'].length, 3, 'confirm, resolution and re-check receipts')
  assert.equal(accepting.asked.length, 1)
  assert.match(accepting.asked[0], /^Send this email\?\n\nAllow the agent to run the tool `send_email`/)

  const declining = await connect(seedServer(ran), { elicitation: 'decline', user: 'user-1' })
  const refused = await declining.client.callTool({ name: 'send_email', arguments: { user_id: 'user-1', thread_id: 't2', body: 'x' } })
  assert.equal(refused.isError, true)
  assert.match(text(refused), /denied by Allowly: user_rejected/)
  assert.deepEqual(ran, ['send_email:t1'])
  await accepting.client.close()
  await declining.client.close()
})

test('confirm without elicitation support leaves the confirmation pending and does not run the tool', async () => {
  const ran = []
  // Attached after registration, to the McpServer itself: attach order does not matter.
  const { client } = await connect(seedServer(ran, { attachFirst: false }), { user: 'user-2' })
  const result = await client.callTool({ name: 'send_email', arguments: { user_id: 'user-2', thread_id: 't3', body: 'x' } })
  assert.equal(result.isError, true)
  assert.match(text(result), /confirmation required by Allowly: scope_requires_user_confirmation — ask the user: Send this email\? \(confirmation [^)]+\); this MCP client cannot ask the user/)
  assert.deepEqual(ran, [])
  await client.close()
})

test('a low-level Server is gated too; attaching twice or to something else fails clearly', async () => {
  const ran = []
  const low = new Server({ name: 'low', version: '1.0' }, { capabilities: { tools: {} } })
  low.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: [] }))
  const middleware = new AllowlyMCPMiddleware({
    apiKey: server.runtimeApiKey,
    baseUrl: server.baseUrl,
    allowInsecureHttp: true,
    authorizationIdFn: (userId) => db.get(userId),
    userIdFn: async () => 'user-1', // an async host callback is awaited
  })
  middleware.attach(low)
  low.setRequestHandler(CallToolRequestSchema, async (request) => {
    ran.push(request.params.name)
    return { content: [{ type: 'text', text: 'done' }] }
  })
  const { client } = await connect(low)
  assert.equal(text(await client.callTool({ name: 'read_inbox', arguments: {} })), 'done')
  assert.equal((await client.callTool({ name: 'nope', arguments: {} })).isError, true)
  assert.deepEqual(ran, ['read_inbox'])
  assert.throws(() => middleware.attach(low), /already has an Allowly middleware/)
  assert.throws(() => middleware.attach({}), /expected an McpServer or Server/)
  assert.throws(() => new AllowlyMCPMiddleware({ apiKey: 'k' }), /authorizationIdFn/)
  await client.close()
})

// The seed's step-4 code on a stdio server: stdio authenticates nobody, so every call is refused with the help text
// (give the middleware a userIdFn, or serve over an authenticating transport), even one naming a user with a grant.
// It used to run under `arguments.user_id`.
test('walkthrough step 4 on stdio: NO_TRUSTED_IDENTITY_HELP, never the user_id argument', async () => {
  const { mkdtempSync, readFileSync, existsSync } = await import('node:fs')
  const { join } = await import('node:path')
  const { tmpdir } = await import('node:os')
  const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js')
  const sent = join(mkdtempSync(join(tmpdir(), 'allowly-step4-')), 'sent.txt')
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [new URL('./helpers/walkthrough-step4.mjs', import.meta.url).pathname],
    env: {
      ...process.env,
      ALLOWLY_KEY: server.runtimeApiKey,
      ALLOWLY_BASE_URL: server.baseUrl,
      WALKTHROUGH_AUTHORIZATIONS: JSON.stringify(Object.fromEntries(db)),
      WALKTHROUGH_SENT: sent,
    },
    stderr: 'inherit',
  })
  const client = new Client({ name: 'agent', version: '1.0' }, { capabilities: { elicitation: { form: {} } } })
  await client.connect(transport)
  const result = await client.callTool({ name: 'send_email', arguments: { user_id: 'user-1', thread_id: 's1', body: 'hi' } })
  assert.equal(result.isError, true)
  assert.equal(text(result), NO_TRUSTED_IDENTITY_HELP)
  assert.match(NO_TRUSTED_IDENTITY_HELP, /identity callback/)
  assert.equal(existsSync(sent) ? readFileSync(sent, 'utf8') : '', '', 'gmail.send never ran')
  await client.close()
})
