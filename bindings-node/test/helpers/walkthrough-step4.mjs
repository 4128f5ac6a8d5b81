// The seed's step 4 (seeds/000, "MCP server integration", TypeScript) as written, served over stdio; only the local
// server's address is added. `db` and `gmail` are the seed's stand-ins: a table from the environment, and a send that
// appends to a file so the test counts real runs.

import { appendFileSync } from 'node:fs'

import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import { AllowlyMCPMiddleware } from 'openallowly/mcp'
import { z } from 'zod'

const table = JSON.parse(process.env.WALKTHROUGH_AUTHORIZATIONS)
const db = { getAuthorizationId: (userId) => table[userId] }
const gmail = {
  send: async ({ threadId }) => {
    appendFileSync(process.env.WALKTHROUGH_SENT, `${threadId}\n`)
    return { messageId: `msg-${threadId}` }
  },
}

const mcp = new McpServer({ name: 'my-email-agent', version: '1.0' })
const allowly = new AllowlyMCPMiddleware({
  apiKey: process.env.ALLOWLY_KEY,
  baseUrl: process.env.ALLOWLY_BASE_URL,
  allowInsecureHttp: true,
  authorizationIdFn: (userId) => db.getAuthorizationId(userId),
})
allowly.attach(mcp.server)
mcp.tool(
  'send_email',
  { user_id: z.string(), thread_id: z.string(), body: z.string() },
  async ({ user_id, thread_id, body }) => {
    // Only reached if Allowly returned allow
    const result = await gmail.send({ threadId: thread_id, body })
    return { content: [{ type: 'text', text: result.messageId }] }
  },
)

await mcp.connect(new StdioServerTransport())
