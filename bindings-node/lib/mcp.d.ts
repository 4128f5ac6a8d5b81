// Types of openallowly/mcp.

import type { Allowly, ClientOptions } from './index.js'

/** What the middleware knows about a call when it asks for the user and the scope. */
export interface ToolCallInfo {
  toolName: string
  arguments: Record<string, unknown>
  /** The MCP SDK's request extra (v1: `authInfo`, `sessionId`, …) or handler context (v2: `http.authInfo`, `mcpReq`). */
  extra: unknown
}

export interface AllowlyMCPMiddlewareOptions extends Partial<Omit<ClientOptions, 'fallbackByScope'>> {
  /**
   * The caller's authorization, for the identity the middleware resolved (see `userIdFn`); `null`/`undefined` (or a
   * throw) denies with `authorization_not_found` without asking Allowly.
   */
  authorizationIdFn: (userId: string) => string | null | undefined | Promise<string | null | undefined>
  /**
   * Who is calling, from trusted server context (your session table, a claim of the validated token); may be async and
   * is awaited. Default: the validated token's subject (`authInfo.extra.sub`, else `authInfo.extra.userId`); never
   * `authInfo.clientId`, which names the OAuth client every user shares.
   * A call with no identity is refused with an error result saying how to provide one (no request to Allowly). Never
   * the tool's arguments unless `userIdFromArguments` says so; a throw counts as no identity.
   */
  userIdFn?: (call: ToolCallInfo) => string | null | undefined | Promise<string | null | undefined>
  /**
   * Opt-in, for single-user servers only: read the user id from this tool argument (`true` = `user_id`). The model
   * writes the arguments, so any caller can name any user. Exclusive with `userIdFn`.
   */
  userIdFromArguments?: boolean | string
  /** The scope of a call. Default: the tool name (or `scopeTemplate` / `scopeMap`). */
  scopeFn?: (toolName: string, args: Record<string, unknown>) => string | Promise<string>
  /** Share an existing client (and its connection pool) instead of `apiKey`/`baseUrl`. */
  client?: Allowly
  /** `mcp.{server}.{tool}`-style template. */
  scopeTemplate?: string
  serverName?: string
  scopeMap?: Record<string, string>
  /** Scopes allowed while Allowly is unreachable; all others fail closed. */
  failOpenScopes?: string[]
  /** Context field → argument name copied into the check context (and so into the signed receipt). */
  contextFields?: Record<string, string>
  /** Argument whose string value is the check's resource. */
  resourceField?: string
  waitForSignedReceipts?: boolean
  /**
   * 32 secret bytes sealing 2026-07-28 `requestState` values (keep it like an API key). Default: a random key per
   * middleware, so a retry must reach the same process; give every process behind one endpoint the same key.
   */
  requestStateKey?: Uint8Array
  /** Ask the user through MCP elicitation on confirm when the client supports it (default true). */
  elicit?: boolean
}

/** Anything with the MCP SDK's server shape: an `McpServer` or its low-level `Server` (SDK 2.x or 1.x). */
export type AttachableServer = object

/**
 * The JSON-RPC error the middleware throws from the `tools/call` handler when the call cannot be answered with a
 * result: -32021 (2026-07-28, a confirmation is needed but the request did not declare elicitation) or -32602 (a
 * malformed, foreign, tampered, moved, replayed or expired `requestState`). The MCP SDK answers it as the error.
 */
/**
 * The error result text of a call refused because no trusted identity was found: what the server must do (an identity
 * callback, or an authenticating transport). The same words in every Allowly SDK.
 */
export declare const NO_TRUSTED_IDENTITY_HELP: string

export declare class AllowlyProtocolError extends Error {
  readonly code: number
  readonly data?: unknown
}

export declare class AllowlyMCPMiddleware {
  constructor(options: AllowlyMCPMiddlewareOptions)
  /**
   * Gates every `tools/call`; tools may be registered before or after. On @modelcontextprotocol/server 2.x the gate
   * runs inside the SDK's multi-round-trip seam (2026-07-28: `inputRequired` results; 2025-era connections: pushed
   * elicitation); on @modelcontextprotocol/sdk 1.x, pushed elicitation. Throws on an unsupported SDK version.
   */
  attach(server: AttachableServer): this
}
