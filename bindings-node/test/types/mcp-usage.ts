// Type test for openallowly/mcp: the seed's step 4 as written.

import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { AllowlyMCPMiddleware } from 'openallowly/mcp'
import { z } from 'zod'

declare const db: { getAuthorizationId(userId: string): Promise<string | null> }
declare const gmail: { send(args: { threadId: string; body: string }): Promise<{ messageId: string }> }

const mcp = new McpServer({ name: 'my-email-agent', version: '1.0' })
const allowly = new AllowlyMCPMiddleware({
  apiKey: process.env.ALLOWLY_KEY!,
  authorizationIdFn: (userId) => db.getAuthorizationId(userId),
})
allowly.attach(mcp.server)

mcp.tool('send_email', { user_id: z.string(), thread_id: z.string(), body: z.string() }, async ({ thread_id, body }) => {
  const result = await gmail.send({ threadId: thread_id, body })
  return { content: [{ type: 'text', text: result.messageId }] }
})

// @ts-expect-error: authorizationIdFn is required
new AllowlyMCPMiddleware({ apiKey: 'k' })

// Identity from tool arguments is an explicit opt-in (single-user servers); the default is the transport's authInfo.
new AllowlyMCPMiddleware({ apiKey: 'k', authorizationIdFn: () => null, userIdFromArguments: true })
new AllowlyMCPMiddleware({ apiKey: 'k', authorizationIdFn: () => null, userIdFromArguments: 'account' })
// @ts-expect-error: userIdFromArguments is a boolean or an argument name
new AllowlyMCPMiddleware({ apiKey: 'k', authorizationIdFn: () => null, userIdFromArguments: 1 })

// @modelcontextprotocol/server 2.x: the same middleware, an async identity callback, the exported help text.
import { McpServer as McpServerV2 } from '@modelcontextprotocol/server'
import { AllowlyProtocolError, NO_TRUSTED_IDENTITY_HELP } from 'openallowly/mcp'

declare const sessions: { userOf(extra: unknown): Promise<string | undefined> }
const v2 = new McpServerV2({ name: 'my-email-agent', version: '1.0' })
new AllowlyMCPMiddleware({
  apiKey: 'k',
  authorizationIdFn: (userId) => db.getAuthorizationId(userId),
  userIdFn: async ({ extra }) => sessions.userOf(extra),
}).attach(v2)
const help: string = NO_TRUSTED_IDENTITY_HELP
const code: number = new AllowlyProtocolError().code
void help
void code
