// ESM entry of @allowly/sdk/mcp (same objects as the CommonJS entry).
import mcp from './mcp.cjs'

export const { AllowlyMCPMiddleware } = mcp
export default mcp
