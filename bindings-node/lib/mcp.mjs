// ESM entry of openallowly/mcp (same objects as the CommonJS entry).
import mcp from './mcp.cjs'

export const { AllowlyMCPMiddleware, AllowlyProtocolError, NO_TRUSTED_IDENTITY_HELP } = mcp
export default mcp
