'use strict'
// openallowly/mcp: puts the allowly-mcp gate (Rust, shared with `allowly mcp proxy` and the Python middleware) in
// front of an MCP server's tools, on @modelcontextprotocol/server 2.x and @modelcontextprotocol/sdk 1.x. This file only
// moves values: it reads the tool call, the caller, the protocol revision and the client's declared capabilities out of
// the SDK's request, hands them to the gate's step, and turns the step into the SDK's answer (run the tool, a result,
// a pushed elicitation, or a thrown JSON-RPC error). Decisions, texts and result shapes are the gate's.

const native = require('./native.cjs')
const { Allowly } = require('./index.cjs')
const { mapped } = require('./errors.cjs')

const ATTACHED = Symbol.for('allowly.mcp.attached')
// The 2026-07-28 per-request `_meta` envelope keys.
const PROTOCOL_VERSION_KEY = 'io.modelcontextprotocol/protocolVersion'
const CLIENT_CAPABILITIES_KEY = 'io.modelcontextprotocol/clientCapabilities'

/**
 * The user the transport authenticated: the validated token's subject (`authInfo.extra.sub`, as JWT verifiers
 * record it, or `authInfo.extra.userId`), set by the server's own auth layer, never by the model. Not
 * `authInfo.clientId`: that names the OAuth client (the app every user shares), not the user.
 */
function principalOfAuthInfo(authInfo) {
  const principal = authInfo?.extra?.sub ?? authInfo?.extra?.userId
  return typeof principal === 'string' && principal ? principal : undefined
}

function identityFromArgument(userIdFn, userIdFromArguments) {
  if (userIdFn !== undefined && userIdFromArguments) {
    throw new TypeError('AllowlyMCPMiddleware: pass either userIdFn or userIdFromArguments, not both')
  }
  if (userIdFn !== undefined && typeof userIdFn !== 'function') {
    throw new TypeError('AllowlyMCPMiddleware: userIdFn must be a function')
  }
  if (userIdFromArguments === true) return 'user_id'
  if (typeof userIdFromArguments === 'string' && userIdFromArguments) return userIdFromArguments
  if (userIdFromArguments !== undefined && userIdFromArguments !== false) {
    throw new TypeError('AllowlyMCPMiddleware: userIdFromArguments must be a boolean or an argument name')
  }
  return undefined
}

/** The gate's JSON-RPC error, thrown so the SDK answers it as the request's error (both SDKs read code and data). */
class AllowlyProtocolError extends Error {
  constructor({ code, message, data }) {
    super(message)
    this.name = 'AllowlyProtocolError'
    this.code = code
    if (data !== undefined && data !== null) this.data = data
  }
}

/** The low-level `Server` of an `McpServer` or of itself, and the McpServer when there is one (for annotations). */
function serversOf(server) {
  if (server && typeof server.registerTool === 'function' && server.server) return { low: server.server, high: server }
  return { low: server, high: null }
}

const stringOrUndefined = (value) => (typeof value === 'string' ? value : undefined)

class AllowlyMCPMiddleware {
  #gate
  #options

  constructor(options) {
    const { authorizationIdFn, userIdFn, userIdFromArguments, scopeFn, client, ...rest } = options ?? {}
    if (typeof authorizationIdFn !== 'function') {
      throw new TypeError('AllowlyMCPMiddleware: authorizationIdFn(userId) is required')
    }
    const argument = identityFromArgument(userIdFn, userIdFromArguments)
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
    try {
      this.#gate = new native.NativeGate(nativeClient, {
        scopeTemplate: rest.scopeTemplate,
        serverName: rest.serverName,
        scopeMap: rest.scopeMap,
        failOpenScopes: rest.failOpenScopes,
        contextFields: rest.contextFields,
        resourceField: rest.resourceField,
        waitForSignedReceipts: rest.waitForSignedReceipts,
        identityFromArgument: argument,
        requestStateKey: rest.requestStateKey,
      })
    } catch (error) {
      throw new TypeError(`AllowlyMCPMiddleware: ${error.message}`)
    }
    this.#options = { authorizationIdFn, userIdFn, scopeFn, elicit: rest.elicit ?? true }
  }

  /**
   * Gates every `tools/call` of `server` (an `McpServer` or its low-level `Server`, from @modelcontextprotocol/server
   * 2.x or @modelcontextprotocol/sdk 1.x). Tools may be registered before or after.
   */
  attach(server) {
    const { low, high } = serversOf(server)
    const v2 = typeof low?._invokeInputRequiredCapableHandler === 'function'
    const handlers = low?._requestHandlers
    if (!v2 && (!(handlers instanceof Map) || typeof low.setRequestHandler !== 'function')) {
      throw new TypeError(
        'AllowlyMCPMiddleware.attach: expected an McpServer or Server from @modelcontextprotocol/server 2.x or ' +
          '@modelcontextprotocol/sdk 1.x (this version keeps request handlers where the middleware cannot reach them)',
      )
    }
    if (low[ATTACHED]) throw new Error('AllowlyMCPMiddleware.attach: this server already has an Allowly middleware')
    low[ATTACHED] = true
    if (v2) {
      // Inside the SDK's multi-round-trip seam: an `input_required` return gets its capability check on 2026-07-28,
      // and its retries (the client's, or the legacy shim's) come back through here. The request's requestState is
      // the gate's (its confirmation, or its wrap of the tool's own state), so the seam is shown none: the server's
      // own requestState verify hook judges the tool's state once the gate has unwrapped it, never the gate's.
      const invoke = low._invokeInputRequiredCapableHandler.bind(low)
      low._invokeInputRequiredCapableHandler = (method, handler, request, ctx) => {
        const wireState = ctx?.mcpReq?.requestState?.()
        if (method !== 'tools/call' || (wireState !== undefined && typeof wireState !== 'string')) {
          return invoke(method, handler, request, ctx) // the seam refuses a non-string state itself
        }
        const wrapped = this.#wrapV2(handler, low, high, wireState)
        return invoke(method, wrapped, request, withRequestState(ctx, undefined))
      }
    } else {
      const wrap = (handler) => this.#wrapV1(handler, low, high)
      const set = handlers.set.bind(handlers)
      handlers.set = (method, handler) => set(method, method === 'tools/call' ? wrap(handler) : handler)
      if (handlers.has('tools/call')) set('tools/call', wrap(handlers.get('tools/call')))
    }
    return this
  }

  /** @modelcontextprotocol/sdk 1.x: the 2025-11-25 era only; elicitation is pushed on the connection. */
  #wrapV1(handler, low, high) {
    return (request, extra) =>
      this.#gated(request, () => handler(request, extra), {
        extra,
        authInfo: extra?.authInfo,
        sessionId: extra?.sessionId,
        protocolVersion: undefined,
        clientCapabilities: low.getClientCapabilities?.(),
        inputResponses: request?.params?.inputResponses,
        requestState: stringOrUndefined(request?.params?.requestState),
        annotations: high?._registeredTools?.[request?.params?.name]?.annotations,
        elicit: (params) => low.elicitInput(params, { relatedRequestId: extra?.requestId }),
        // 1.x speaks 2025-11-25 only: no wrapped state to resume, and a tool's result is passed on as it is.
        toolAsked: (result) => result,
      })
  }

  /**
   * @modelcontextprotocol/server 2.x: a 2026-07-28 request carries its revision and capabilities in its `_meta`
   * envelope and a retry its `inputResponses` / `requestState`; a 2025-era connection has them from `initialize`.
   */
  #wrapV2(handler, low, high, wireState) {
    return (request, ctx) => {
      const envelope = ctx?.mcpReq?.envelope
      return this.#gated(request, () => handler(request, ctx), {
        extra: ctx,
        authInfo: ctx?.http?.authInfo,
        sessionId: ctx?.sessionId,
        protocolVersion: envelope?.[PROTOCOL_VERSION_KEY] ?? low.getNegotiatedProtocolVersion?.(),
        clientCapabilities: envelope ? envelope[CLIENT_CAPABILITIES_KEY] : low.getClientCapabilities?.(),
        inputResponses: ctx?.mcpReq?.inputResponses,
        requestState: wireState,
        annotations: high?._registeredTools?.[request?.params?.name]?.annotations,
        elicit: (params) => ctx.mcpReq.elicitInput(params, { relatedRequestId: ctx.mcpReq.id }),
        // The tool's own retry: its state (verified by the server's requestState hook, as the seam would) and the
        // client's answers to its questions, the way the SDK hands them to a handler.
        resume: async (step) => {
          const own = step.requestState ?? undefined
          const decoded = own === undefined ? undefined : await low._verifyRequestState(own, ctx, 'tools/call')
          const resumed = withRequestState(ctx, decoded !== undefined ? decoded : own)
          resumed.mcpReq.inputResponses = step.inputResponses ?? undefined
          return handler(request, resumed)
        },
        toolAsked: async (result, step) => {
          if (!low._servedModernEra()) {
            // 2025-11-25 has no input_required: the SDK's legacy shim asks this client the tool's questions and
            // retries the tool itself, inside this already approved call (the gate is not asked again).
            if (!low._inputRequiredServing?.legacyShim) return result
            const final = await low._legacyInputRequiredShim().fulfill('tools/call', handler, request, ctx, result)
            return withMeta(final, step.meta)
          }
          const wrapped = step.wrapRequestState(stringOrUndefined(result.requestState) ?? null)
          if (wrapped.error) throw new AllowlyProtocolError(wrapped.error)
          return { ...result, requestState: wrapped.requestState }
        },
      })
    }
  }

  async #gated(request, runTool, view) {
    const toolName = request?.params?.name
    if (typeof toolName !== 'string') return runTool()
    const args = request.params.arguments ?? {}
    const { authorizationIdFn, scopeFn, elicit } = this.#options
    const principal = await this.#principal({ toolName, arguments: args, extra: view.extra }, view.authInfo)
    const identity = this.#gate.identityOf(principal ?? null, args)
    const authorizationId = identity == null ? undefined : await settle(() => authorizationIdFn(identity))
    let step = await this.#gate.step({
      toolName,
      arguments: args,
      annotations: view.annotations ?? undefined,
      runId: stringOrUndefined(view.sessionId),
      principal,
      authorizationId,
      scope: scopeFn ? await scopeFn(toolName, args) : undefined,
      protocolVersion: stringOrUndefined(view.protocolVersion),
      clientCapabilities: elicit ? (view.clientCapabilities ?? undefined) : undefined,
      inputResponses: view.inputResponses ?? undefined,
      requestState: view.requestState,
    })
    if (step.kind === 'elicit') {
      let answer = null
      try {
        answer = await view.elicit(step.params)
      } catch {
        answer = null // the question failed: nothing is recorded and the confirmation stays pending
      }
      step = await step.answer(answer)
    }
    switch (step.kind) {
      case 'run':
        return this.#finish(step, await runTool(), view)
      case 'resume':
        // A retry of the tool's own input request in a call the gate already approved: no second decision.
        return this.#finish(step, await view.resume(step), view)
      case 'protocolError':
        throw new AllowlyProtocolError(step.error)
      default:
        // `refuse`: an isError CallToolResult; `inputRequired`: the `inputRequired({ inputRequests, requestState })`
        // result of @modelcontextprotocol/server, built by the gate.
        return step.result
    }
  }

  /** The tool's result with the gate's `_meta`, or its own `input_required` carried for this call only. */
  #finish(step, result, view) {
    if (result?.resultType === 'input_required') return view.toolAsked(result, step)
    return withMeta(result, step.meta)
  }

  /** The trusted principal: the host's `userIdFn` (awaited), else the transport's `authInfo`. */
  async #principal(call, authInfo) {
    const { userIdFn } = this.#options
    const principal = userIdFn ? await settle(() => userIdFn(call)) : principalOfAuthInfo(authInfo)
    return typeof principal === 'string' && principal ? principal : undefined
  }
}

function withMeta(result, meta) {
  if (result && typeof result === 'object') result._meta = { ...result._meta, ...meta }
  return result
}

/** A copy of a 2.x handler context whose `ctx.mcpReq.requestState()` answers `value` (as the SDK's seam builds it). */
function withRequestState(ctx, value) {
  return { ...ctx, mcpReq: { ...ctx.mcpReq, requestState: () => value } }
}

/** A host callback's answer; one that throws answers nothing, so the call fails closed. */
async function settle(fn) {
  try {
    return (await fn()) ?? undefined
  } catch {
    return undefined
  }
}

/** The error text of a call refused because no trusted identity was found (the same words in every Allowly SDK). */
const NO_TRUSTED_IDENTITY_HELP = native.noTrustedIdentityHelp()

module.exports = { AllowlyMCPMiddleware, AllowlyProtocolError, NO_TRUSTED_IDENTITY_HELP }
