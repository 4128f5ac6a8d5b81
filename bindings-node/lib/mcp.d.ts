// Types of @allowly/sdk/mcp.

import type { Allowly, ClientOptions } from './index.js'

/** What the middleware knows about a call when it asks for the user and the scope. */
export interface ToolCallInfo {
  toolName: string
  arguments: Record<string, unknown>
  /** The MCP SDK's request extra (`authInfo`, `sessionId`, …). */
  extra: unknown
}

export interface AllowlyMCPMiddlewareOptions extends Partial<Omit<ClientOptions, 'fallbackByScope'>> {
  /** The caller's authorization; `null`/`undefined` denies with `authorization_not_found` without asking Allowly. */
  authorizationIdFn: (userId: string) => string | null | undefined | Promise<string | null | undefined>
  /**
   * Who is calling, from trusted server context. Default: the authenticated MCP identity (`authInfo.extra.userId`,
   * else `authInfo.clientId`); a call without one is denied (`authorization_not_found`). Never the tool's arguments
   * unless `userIdFromArguments` says so.
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
  /** Ask the user through MCP elicitation on confirm when the client supports it (default true). */
  elicit?: boolean
}

/** Anything with the MCP SDK's server shape: an `McpServer` or its low-level `Server`. */
export type AttachableServer = object

export declare class AllowlyMCPMiddleware {
  constructor(options: AllowlyMCPMiddlewareOptions)
  /** Gates every `tools/call`; tools may be registered before or after. Throws on an unsupported SDK version. */
  attach(server: AttachableServer): this
}
