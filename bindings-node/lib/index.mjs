// ESM entry of @allowly/sdk: the same objects as the CommonJS entry, so `instanceof` agrees across both.
import sdk from './index.cjs'

export const {
  Allowly,
  Admin,
  identifiers,
  policy,
  verifyReceipt,
  loadKeysFromJson,
  fetchKeysDoc,
  KeySet,
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
} = sdk
export default sdk
