'use strict'
// @allowly/sdk/mcp: puts the allowly-mcp gate (Rust, shared with `allowly mcp proxy`) in front of an MCP server's
// tools. This file only adapts @modelcontextprotocol/sdk: it finds the `tools/call` handler, asks the gate, runs the
// tool on allow, answers an `isError` result naming the reason on deny, and asks the user through elicitation on
// confirm. Decisions, the fail-closed fallback and the confirm → re-check flow are the gate's.

const native = require('../native/index.js')
const { Allowly } = require('./index.cjs')
const { mapped } = require('./errors.cjs')

const ATTACHED = Symbol.for('allowly.mcp.attached')

/**
 * The caller's user id from the transport's authentication (`authInfo`), the only source trusted by default. Tool
 * arguments are written by the model: reading the user from them would let a prompt act as another user, so that is
 * the explicit `userIdFromArguments` opt-in (single-user servers only).
 */
function userIdFromTransport({ extra }) {
  const auth = extra?.authInfo
  const fromAuth = auth?.extra?.userId ?? auth?.clientId
  return typeof fromAuth === 'string' && fromAuth ? fromAuth : undefined
}

function userIdFromArgument(name) {
  return ({ arguments: args }) => (typeof args?.[name] === 'string' ? args[name] : undefined)
}

function userIdSource(userIdFn, userIdFromArguments) {
  if (userIdFn !== undefined && userIdFromArguments) {
    throw new TypeError('AllowlyMCPMiddleware: pass either userIdFn or userIdFromArguments, not both')
  }
  if (userIdFn !== undefined) {
    if (typeof userIdFn !== 'function') throw new TypeError('AllowlyMCPMiddleware: userIdFn must be a function')
    return userIdFn
  }
  if (userIdFromArguments === true) return userIdFromArgument('user_id')
  if (typeof userIdFromArguments === 'string' && userIdFromArguments) return userIdFromArgument(userIdFromArguments)
  if (userIdFromArguments !== undefined && userIdFromArguments !== false) {
    throw new TypeError('AllowlyMCPMiddleware: userIdFromArguments must be a boolean or an argument name')
  }
  return userIdFromTransport
}

/** The low-level `Server` of an `McpServer` or of itself, and the McpServer when there is one (for annotations). */
function serversOf(server) {
  if (server && typeof server.registerTool === 'function' && server.server) return { low: server.server, high: server }
  return { low: server, high: null }
}

function receiptIds(...outcomes) {
  const ids = []
  for (const o of outcomes) {
    for (const r of [o?.resolutionReceipt, o?.receipt]) if (r?.receiptId) ids.push(r.receiptId)
  }
  return ids
}

function meta(outcome, receipts) {
  return {
    'allowly.ai/decision': outcome.decision,
    'allowly.ai/reason': outcome.reason,
    'allowly.ai/receipt_ids': receipts,
  }
}

function refused(text, outcome, receipts) {
  return { content: [{ type: 'text', text }], isError: true, _meta: meta(outcome, receipts) }
}

class AllowlyMCPMiddleware {
  #gate
  #options

  constructor(options) {
    const { authorizationIdFn, userIdFn, userIdFromArguments, scopeFn, client, ...rest } = options ?? {}
    if (typeof authorizationIdFn !== 'function') {
      throw new TypeError('AllowlyMCPMiddleware: authorizationIdFn(userId) is required')
    }
    const userIdOf = userIdSource(userIdFn, userIdFromArguments)
    const nativeClient = client
      ? Allowly.nativeOf(client)
      : mapped(
          () =>
            new native.NativeClient({
              apiKey: rest.apiKey,
              baseUrl: rest.baseUrl,
              timeoutMs: rest.timeoutMs,
              checkTimeoutMs: rest.checkTimeoutMs,
              maxRetries: rest.maxRetries,
              allowInsecureHttp: rest.allowInsecureHttp,
              userAgent: rest.userAgent,
            }),
        )
    this.#gate = new native.NativeGate(nativeClient, {
      scopeTemplate: rest.scopeTemplate,
      serverName: rest.serverName,
      scopeMap: rest.scopeMap,
      failOpenScopes: rest.failOpenScopes,
      contextFields: rest.contextFields,
      resourceField: rest.resourceField,
      waitForSignedReceipts: rest.waitForSignedReceipts,
    })
    this.#options = { authorizationIdFn, userIdFn: userIdOf, scopeFn, elicit: rest.elicit ?? true }
  }

  /**
   * Gates every `tools/call` of `server` (an `McpServer` or its low-level `Server`). Works whether tools are
   * registered before or after: the handler is wrapped now if it exists and whenever it is (re)installed.
   */
  attach(server) {
    const { low, high } = serversOf(server)
    const handlers = low?._requestHandlers
    if (!(handlers instanceof Map) || typeof low.setRequestHandler !== 'function') {
      throw new TypeError(
        'AllowlyMCPMiddleware.attach: expected an McpServer or Server from @modelcontextprotocol/sdk 1.x ' +
          '(this version keeps request handlers where the middleware cannot reach them)',
      )
    }
    if (low[ATTACHED]) throw new Error('AllowlyMCPMiddleware.attach: this server already has an Allowly middleware')
    low[ATTACHED] = true
    const wrap = (handler) => this.#wrap(handler, low, high)
    const set = handlers.set.bind(handlers)
    handlers.set = (method, handler) => set(method, method === 'tools/call' ? wrap(handler) : handler)
    if (handlers.has('tools/call')) set('tools/call', wrap(handlers.get('tools/call')))
    return this
  }

  #wrap(handler, low, high) {
    return async (request, extra) => {
      const toolName = request?.params?.name
      const args = request?.params?.arguments ?? {}
      if (typeof toolName !== 'string') return handler(request, extra)
      const context = { toolName, arguments: args, extra }
      const { userIdFn, authorizationIdFn, scopeFn } = this.#options
      const userId = await userIdFn(context)
      const authorizationId = userId === undefined || userId === null ? null : await authorizationIdFn(userId)
      const annotations = high?._registeredTools?.[toolName]?.annotations
      const call = {
        authorizationId: authorizationId ?? undefined,
        toolName: scopeFn ? await scopeFn(toolName, args) : toolName,
        arguments: args,
        annotations: annotations ?? undefined,
        runId: extra?.sessionId,
      }
      let outcome = await this.#gate.onToolCall(call)
      const receipts = receiptIds(outcome)
      if (outcome.decision === 'confirm') {
        const answered = await this.#ask(outcome, toolName, low, extra)
        if (typeof answered === 'string') {
          let text = `confirmation required by Allowly: ${outcome.reason}`
          if (outcome.promptHint) text += ` — ask the user: ${outcome.promptHint}`
          if (outcome.confirmationId) text += ` (confirmation ${outcome.confirmationId})`
          return refused(`${text}; ${answered}`, outcome, receipts)
        }
        outcome = await outcome.resolve(answered)
        receipts.push(...receiptIds(outcome))
      }
      if (outcome.decision === 'allow') {
        const result = await handler(request, extra)
        if (result && typeof result === 'object') result._meta = { ...result._meta, ...meta(outcome, receipts) }
        return result
      }
      return refused(`denied by Allowly: ${outcome.reason} (scope ${outcome.scope})`, outcome, receipts)
    }
  }

  /** true/false = the user's answer; a string = why nobody could answer (the confirmation stays pending). */
  async #ask(outcome, toolName, low, extra) {
    if (!this.#options.elicit || !low.getClientCapabilities?.()?.elicitation) {
      return 'this MCP client cannot ask the user (no elicitation support)'
    }
    let message = `Allow the agent to run the tool \`${toolName}\` (Allowly scope ${outcome.scope})?`
    if (outcome.promptHint) message = `${outcome.promptHint}\n\n${message}`
    try {
      const answer = await low.elicitInput(
        { mode: 'form', message, requestedSchema: { type: 'object', properties: {} } },
        { relatedRequestId: extra?.requestId },
      )
      if (answer.action === 'accept') return true
      if (answer.action === 'decline') return false
      return 'the user dismissed the question'
    } catch {
      return 'asking the user failed'
    }
  }
}

module.exports = { AllowlyMCPMiddleware }
