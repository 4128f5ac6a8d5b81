// ESM entry of openallowly: the same objects as the CommonJS entry, so `instanceof` agrees across both.
import sdk from './index.cjs'

export const {
  Allowly,
  Admin,
  identifiers,
  policy,
  verifyReceipt,
  verifyWebhook,
  loadKeysFromJson,
  fetchKeysDoc,
  KeySet,
  AgentCredential,
  NativeAgentCredential,
  MemorySeenIds,
  AllowlyError,
  AuthenticationError,
  PermissionDeniedError,
  NotFoundError,
  ConflictError,
  ValidationError,
  RateLimitError,
  ServerError,
  TimeoutError,
  NetworkError,
  ProtocolError,
  ConfigError,
  VerificationError,
  WebhookVerificationError,
} = sdk
export default sdk
