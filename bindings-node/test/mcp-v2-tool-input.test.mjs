// A tool's OWN input requests behind the gate, on @modelcontextprotocol/server 2.x against allowly serve --dev. The
// tool answers `inputRequired(...)` with its own requestState; the gate seals that state inside one of its own, bound
// to the call, so the retry resumes the tool (with its own state and the client's answers) without a second decision,
// once. `asked` counts the tool asking, `ran` counts it running to completion with its answer.

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, test } from 'node:test'

import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js'
import { InMemoryTransport, McpServer, createMcpHandler, createRequestStateCodec, inputRequired } from '@modelcontextprotocol/server'
import { z } from 'zod/v4'

import { Allowly } from 'openallowly'
import { AllowlyMCPMiddleware } from 'openallowly/mcp'
import { startServer } from './helpers/server.mjs'

const NEW = '2026-07-28'
const FORM = { elicitation: { form: {} } }
const WHY = { type: 'object', properties: { why: { type: 'string' } }, required: ['why'] }

let server
let allowly
before(async () => {
  server = await startServer()
  allowly = new Allowly({ apiKey: server.runtimeApiKey, baseUrl: server.baseUrl, allowInsecureHttp: true })
})
after(() => server?.stop())

/** A user allowed `tag_note` and `rename`, and confirm-gated on `archive`. */
async function newUser(name) {
  const userId = `${name}-${Math.random().toString(36).slice(2)}`
  const authorization = await allowly.authorizations.create({
    userId,
    agentId: 'notes-agent',
    scopes: ['tag_note', 'rename', { name: 'archive', constraints: { confirmPrompt: 'Archive this folder?' } }],
    requiresConfirmFor: ['archive'],
  })
  const gate = new AllowlyMCPMiddleware({
    client: allowly,
    authorizationIdFn: async (id) => (id === userId ? authorization.authorizationId : undefined),
  })
  return { userId, gate }
}

/**
 * Two tools that each ask the user their own question before doing anything (`archive` behind a confirm, `tag_note`
 * allowed). With `codec`, the tool mints its state with the SDK's HMAC codec and the server verifies it (its
 * `requestState.verify` hook); without, the state is a plain string.
 */
function notesServer(gate, log, codec) {
  const mcp = new McpServer({ name: 'notes', version: '1.0' }, codec ? { requestState: { verify: codec.verify } } : undefined)
  gate.attach(mcp)
  const tool = (name, key) =>
    mcp.registerTool(name, { inputSchema: z.object({ [key]: z.string() }) }, async (args, ctx) => {
      const target = args[key]
      const answer = ctx.mcpReq.inputResponses?.why
      if (answer?.action !== 'accept') {
        log.asked.push(`${name}:${target}`)
        const own = `${name}-state:${target}`
        return inputRequired({
          inputRequests: { why: inputRequired.elicit({ message: `Why ${name} ${target}?`, requestedSchema: WHY }) },
          requestState: codec ? await codec.mint(own) : own,
        })
      }
      const state = ctx.mcpReq.requestState()
      log.ran.push(`${name}:${target}:${answer.content.why}:${state}`)
      return { content: [{ type: 'text', text: `${name} ${target}: ${answer.content.why}` }] }
    })
  tool('archive', 'folder')
  tool('tag_note', 'note')
  // Two questions in a row: the tool's state says which round it is in.
  mcp.registerTool('rename', { inputSchema: z.object({ note: z.string() }) }, async ({ note }, ctx) => {
    const state = ctx.mcpReq.requestState()
    const responses = ctx.mcpReq.inputResponses ?? {}
    if (state === undefined) {
      log.asked.push(`rename:${note}:name`)
      return inputRequired({ inputRequests: { name: inputRequired.elicit({ message: 'New name?', requestedSchema: WHY }) }, requestState: 'round-1' })
    }
    if (state === 'round-1') {
      log.asked.push(`rename:${note}:sure`)
      const name = responses.name.content.why
      return inputRequired({ inputRequests: { sure: inputRequired.elicit({ message: `Rename to ${name}?`, requestedSchema: WHY }) }, requestState: `round-2:${name}` })
    }
    log.ran.push(`rename:${note}:${state}:${responses.sure.content.why}`)
    return { content: [{ type: 'text', text: `renamed ${note}` }] }
  })
  return mcp
}

/** A 2026-07-28 client speaking raw JSON-RPC to the SDK's HTTP entry, authenticated as `userId`. */
function newEraClient(gate, log, userId, codec) {
  const handler = createMcpHandler(() => notesServer(gate, log, codec))
  let id = 0
  const call = async (name, args, retry) => {
    const _meta = {
      'io.modelcontextprotocol/protocolVersion': NEW,
      'io.modelcontextprotocol/clientCapabilities': FORM,
      'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
    }
    const headers = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': NEW,
      'mcp-method': 'tools/call',
      'mcp-name': name,
    }
    const body = JSON.stringify({ jsonrpc: '2.0', id: ++id, method: 'tools/call', params: { name, arguments: args, ...retry, _meta } })
    const authInfo = { token: 't', clientId: 'agent-app', scopes: [], extra: { sub: userId } }
    return (await handler.fetch(new Request('http://127.0.0.1/mcp', { method: 'POST', headers, body }), { authInfo })).json()
  }
  return { call, close: () => handler.close() }
}

const text = (result) => result.content.map((c) => c.text).join('')
const confirmed = (requestState) => ({ inputResponses: { allowly_confirmation: { action: 'accept', content: {} } }, requestState })
const because = (why, requestState) => ({ inputResponses: { why: { action: 'accept', content: { why } } }, requestState })

for (const codec of [undefined, createRequestStateCodec({ key: randomBytes(32) })]) {
  const flavour = codec ? "the tool's HMAC-coded state, verified by the server's hook" : 'a plain tool state'

  test(`2026-07-28, ${flavour}: a confirm-gated tool's own question is asked after the gate's, and it runs once`, async () => {
    const alice = await newUser('alice')
    const log = { asked: [], ran: [] }
    const client = newEraClient(alice.gate, log, alice.userId, codec)
    const args = { folder: 'old' }

    const first = await client.call('archive', args)
    assert.equal(first.result.resultType, 'input_required')
    assert.deepEqual(Object.keys(first.result.inputRequests), ['allowly_confirmation'], "only the gate's question")
    assert.deepEqual(log, { asked: [], ran: [] })

    const approved = await client.call('archive', args, confirmed(first.result.requestState))
    assert.equal(approved.result.resultType, 'input_required')
    assert.deepEqual(Object.keys(approved.result.inputRequests), ['why'], "the tool's own question, not the gate's again")
    assert.equal(approved.result.inputRequests.why.params.message, 'Why archive old?')
    const wrapped = approved.result.requestState
    assert.equal(typeof wrapped, 'string')
    assert.ok(!wrapped.includes('archive-state'), "the tool's state is sealed inside the gate's")
    assert.deepEqual(log, { asked: ['archive:old'], ran: [] })

    // The same wrapped state on another call (other arguments) is refused and the tool does not run.
    const moved = await client.call('archive', { folder: 'new' }, because('cleanup', wrapped))
    assert.equal(moved.error?.code, -32602)

    const done = await client.call('archive', args, because('cleanup', wrapped))
    assert.equal(text(done.result), 'archive old: cleanup')
    assert.equal(done.result._meta['allowly.ai/decision'], 'allow')
    assert.equal(done.result._meta['allowly.ai/reason'], 'user_confirmed')
    assert.equal(done.result._meta['allowly.ai/receipt_ids'].length, 3, "the approval's receipts, no new check")
    assert.equal(log.ran.length, 1)
    assert.equal(log.ran[0], 'archive:old:cleanup:archive-state:old', 'the tool got back its own state and answer')

    const replayed = await client.call('archive', args, because('cleanup', wrapped))
    assert.equal(replayed.error?.code, -32602)
    assert.deepEqual(log, { asked: ['archive:old'], ran: ['archive:old:cleanup:archive-state:old'] }, 'the replay never ran the tool')
    await client.close()
  })

  test(`2026-07-28, ${flavour}: an allowed tool's own question resumes it once, for the same call only`, async () => {
    const alice = await newUser('alice')
    const bob = await newUser('bob')
    const log = { asked: [], ran: [] }
    const client = newEraClient(alice.gate, log, alice.userId, codec)
    const first = await client.call('tag_note', { note: 'n1' })
    assert.deepEqual(Object.keys(first.result.inputRequests), ['why'])
    assert.equal(first.result.resultType, 'input_required')
    const wrapped = first.result.requestState

    // Not another caller's, nor another middleware's (another key), nor another tool's.
    const asBob = newEraClient(bob.gate, log, bob.userId, codec)
    assert.equal((await asBob.call('tag_note', { note: 'n1' }, because('x', wrapped))).error?.code, -32602)
    assert.equal((await client.call('archive', { folder: 'n1' }, because('x', wrapped))).error?.code, -32602)

    const done = await client.call('tag_note', { note: 'n1' }, because('urgent', wrapped))
    assert.equal(text(done.result), 'tag_note n1: urgent')
    assert.equal(done.result._meta['allowly.ai/reason'], 'scope_granted')
    assert.equal((await client.call('tag_note', { note: 'n1' }, because('urgent', wrapped))).error?.code, -32602)
    assert.deepEqual(log, { asked: ['tag_note:n1'], ran: ['tag_note:n1:urgent:tag_note-state:n1'] })
    await client.close()
    await asBob.close()
  })
}

test('2026-07-28: a tool that asks twice is resumed round by round, each wrapped state once', async () => {
  const alice = await newUser('alice')
  const log = { asked: [], ran: [] }
  const client = newEraClient(alice.gate, log, alice.userId)
  const answer = (key, value, requestState) => ({ inputResponses: { [key]: { action: 'accept', content: { why: value } } }, requestState })
  const first = await client.call('rename', { note: 'n9' })
  assert.deepEqual(Object.keys(first.result.inputRequests), ['name'])
  const second = await client.call('rename', { note: 'n9' }, answer('name', 'todo', first.result.requestState))
  assert.deepEqual(Object.keys(second.result.inputRequests), ['sure'])
  assert.notEqual(second.result.requestState, first.result.requestState)
  assert.equal((await client.call('rename', { note: 'n9' }, answer('name', 'todo', first.result.requestState))).error?.code, -32602)
  const done = await client.call('rename', { note: 'n9' }, answer('sure', 'yes', second.result.requestState))
  assert.equal(text(done.result), 'renamed n9')
  assert.equal(done.result._meta['allowly.ai/reason'], 'scope_granted')
  assert.deepEqual(log, { asked: ['rename:n9:name', 'rename:n9:sure'], ran: ['rename:n9:round-2:todo:yes'] })
  await client.close()
})

/** Answers the gate's question with an accept and the tool's with a reason, recording every question asked. */
function answering(asked, why) {
  return async (request) => {
    asked.push(request.params.message)
    return { action: 'accept', content: request.params.message.startsWith('Why') ? { why } : {} }
  }
}

test('2026-07-28 with the official 2.x client: it answers the gate, then the tool, and the tool runs once', async () => {
  const { Client: ClientV2, StreamableHTTPClientTransport } = await import('@modelcontextprotocol/client')
  const alice = await newUser('alice')
  const log = { asked: [], ran: [] }
  const handler = createMcpHandler(() => notesServer(alice.gate, log))
  const authInfo = { token: 't', clientId: 'agent-app', scopes: [], extra: { sub: alice.userId } }
  const fetch = (url, init) => handler.fetch(new Request(url, init), { authInfo })
  const transport = new StreamableHTTPClientTransport(new URL('http://127.0.0.1/mcp'), { fetch })
  const client = new ClientV2({ name: 'official', version: '1.0' }, { capabilities: FORM, versionNegotiation: { mode: { pin: NEW } } })
  const questions = []
  client.setRequestHandler('elicitation/create', answering(questions, 'tidy'))
  await client.connect(transport)
  const done = await client.callTool({ name: 'archive', arguments: { folder: 'f1' } })
  assert.equal(text(done), 'archive f1: tidy')
  assert.equal(done._meta['allowly.ai/reason'], 'user_confirmed')
  assert.equal(questions.length, 2)
  assert.match(questions[0], /^Archive this folder\?/)
  assert.equal(questions[1], 'Why archive f1?')
  assert.deepEqual(log, { asked: ['archive:f1'], ran: ['archive:f1:tidy:archive-state:f1'] })
  await client.close()
  await handler.close()
})

test("2025-11-25 client of a 2.x server: the SDK's legacy shim asks the tool's question after the gate's, once", async () => {
  const alice = await newUser('alice')
  const log = { asked: [], ran: [] }
  const client = new Client({ name: 'old', version: '1.0' }, { capabilities: FORM })
  const questions = []
  client.setRequestHandler(ElicitRequestSchema, answering(questions, 'legacy'))
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
  const send = clientSide.send.bind(clientSide)
  clientSide.send = (message, options) => send(message, { ...options, authInfo: { token: 't', clientId: 'agent-app', scopes: [], extra: { sub: alice.userId } } })
  await Promise.all([notesServer(alice.gate, log).connect(serverSide), client.connect(clientSide)])
  const done = await client.callTool({ name: 'archive', arguments: { folder: 'l1' } })
  assert.equal(text(done), 'archive l1: legacy')
  assert.equal(done._meta['allowly.ai/reason'], 'user_confirmed')
  assert.equal(questions.length, 2)
  assert.equal(questions[1], 'Why archive l1?')
  const tagged = await client.callTool({ name: 'tag_note', arguments: { note: 'l2' } })
  assert.equal(text(tagged), 'tag_note l2: legacy')
  assert.equal(questions.length, 3, 'an allowed tool: only its own question')
  assert.deepEqual(log.ran, ['archive:l1:legacy:archive-state:l1', 'tag_note:l2:legacy:tag_note-state:l2'])
  await client.close()
})
