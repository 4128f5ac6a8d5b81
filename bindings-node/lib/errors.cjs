'use strict'
// The JS half of the one error mapping (the Rust half is src/error.rs): the native layer throws an Error whose
// message carries a JSON payload; this file turns it into the class of its core variant, so callers can use
// `instanceof` and branch the same way as in Rust and Python (retry, fix the request, fix credentials, stop trusting).

const native = require('./native.cjs')

const PAYLOAD_PREFIX = 'allowly-native-error:'

/** Base class of every error the SDK raises on purpose. `code` is stable; `status` is the HTTP status if any. */
class AllowlyError extends Error {
  constructor(message, { code = 'allowly_error', status = null } = {}) {
    super(message)
    this.name = new.target.name
    this.code = code
    this.status = status
  }
}

/** 401: the API key is missing, malformed or unknown. */
class AuthenticationError extends AllowlyError {}
/** 403: the key is valid but may not do this. */
class PermissionDeniedError extends AllowlyError {}
/** 404: the authorization, confirmation or receipt does not exist (for this workspace). */
class NotFoundError extends AllowlyError {}
/** 409 / 410: the state forbids the call (idempotency conflict, already settled, confirmation expired). */
class ConflictError extends AllowlyError {}
/** 400 / 413 / 422, or rejected before sending: `fields` says where. */
class ValidationError extends AllowlyError {
  constructor(message, options = {}) {
    super(message, options)
    this.fields = options.fields ?? []
  }
}
/** 429: slow down; `retryAfter` is in seconds when the server said (`Retry-After`), else null. */
class RateLimitError extends AllowlyError {
  constructor(message, options = {}) {
    super(message, options)
    this.retryAfter = options.retryAfter ?? null
  }
}
/** 5xx after retries (never thrown by `check`, which falls back instead). `retryAfter` is in seconds when the server
 * said (a 503 `overloaded` is a server shedding load before any work), else null. */
class ServerError extends AllowlyError {
  constructor(message, options = {}) {
    super(message, options)
    this.retryAfter = options.retryAfter ?? null
  }
}
/** The call, or a wait such as `fetchSigned`, ran out of time. */
class TimeoutError extends AllowlyError {}
/** The server could not be reached. */
class NetworkError extends AllowlyError {}
/** The server answered something that does not follow wire-v1. */
class ProtocolError extends AllowlyError {}
/** The client was configured wrongly (plain HTTP without `allowInsecureHttp`, an empty API key, …). */
class ConfigError extends AllowlyError {}
/** A receipt, key document or checkpoint did not verify; `code` is the kind (`signature_mismatch`, `schema`, …). */
class VerificationError extends AllowlyError {
  get kind() {
    return this.code
  }
}

/** A webhook delivery did not verify: do not act on it. `code` is `webhook_<kind>`; `kind` is `malformed`,
 * `signature_mismatch`, `timestamp` (stale or in the future), `workspace_mismatch` or `replay`. */
class WebhookVerificationError extends AllowlyError {
  get kind() {
    return this.code.replace(/^webhook_/, '')
  }
}

const CLASSES = {
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
}

/** One class per core error kind, keyed by core's kind names (`errorClassNames()` of the native layer, built from
 * core's `ErrorKind::ALL`), so no kind is named here; a test checks every kind has its own class. */
const CLASS_BY_KIND = Object.fromEntries(
  Object.entries(native.errorClassNames()).map(([kind, name]) => [kind, CLASSES[name] ?? AllowlyError]),
)

/** Rebuilds the SDK error from a native one; any other error is returned unchanged. */
function fromNative(error) {
  if (!(error instanceof Error) || !error.message.startsWith(PAYLOAD_PREFIX)) return error
  let payload
  try {
    payload = JSON.parse(error.message.slice(PAYLOAD_PREFIX.length))
  } catch {
    return error
  }
  const Class = CLASS_BY_KIND[payload.kind] ?? AllowlyError
  // Rust's Display already says what happened; the class name carries the kind.
  return new Class(payload.message, {
    code: payload.code,
    status: payload.status ?? null,
    fields: payload.fields,
    retryAfter: payload.retryAfter,
  })
}

/** Runs a native call (sync or async) and rethrows its errors as SDK errors. */
function mapped(fn) {
  let result
  try {
    result = fn()
  } catch (error) {
    throw fromNative(error)
  }
  if (result && typeof result.then === 'function') {
    return result.catch((error) => {
      throw fromNative(error)
    })
  }
  return result
}

module.exports = {
  AllowlyError,
  ...CLASSES,
  CLASS_BY_KIND,
  fromNative,
  mapped,
}
