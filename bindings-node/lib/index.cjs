'use strict'
// The public API of openallowly (CommonJS; index.mjs re-exports it for ESM). Every method is one call into the
// native binding (allowly-core): this file only shapes the seed's API (namespaces, option objects) and rethrows core
// errors as their classes. No decision, HTTP or crypto logic lives here.

const { inspect } = require('node:util')
const native = require('./native.cjs')
const errors = require('./errors.cjs')

const { mapped } = errors

/**
 * A JavaScript string may hold a lone surrogate, which has no UTF-8 form: napi would silently turn it into U+FFFD, so
 * a definition would be validated and digested as something its author never wrote. Such a value is refused before
 * it crosses into Rust, with the member it was found in.
 */
function wellFormed(value, field) {
  const bad = illFormedAt(value, field)
  if (bad !== null) {
    const message = 'contains a lone surrogate, which is not valid Unicode'
    throw new errors.ValidationError(`${bad}: ${message}`, { code: 'invalid_input', fields: [{ field: bad, message }] })
  }
  return value
}

function illFormedAt(value, path) {
  if (typeof value === 'string') return value.isWellFormed() ? null : path
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const at = illFormedAt(value[i], `${path}[${i}]`)
      if (at !== null) return at
    }
  } else if (value !== null && typeof value === 'object') {
    for (const [key, member] of Object.entries(value)) {
      if (!key.isWellFormed()) return path
      const at = illFormedAt(member, `${path}.${key}`)
      if (at !== null) return at
    }
  }
  return null
}

class Authorizations {
  #native
  constructor(nativeClient) {
    this.#native = nativeClient
  }
  create(request) {
    return mapped(() => this.#native.createAuthorization(request))
  }
  createFromPolicy(request) {
    return mapped(() => this.#native.createEditionAuthorization(request))
  }
  get(authorizationId) {
    return mapped(() => this.#native.getAuthorization(authorizationId))
  }
  revoke(authorizationId, options) {
    return mapped(() => this.#native.revokeAuthorization(authorizationId, options))
  }
}

class Confirmations {
  #native
  constructor(nativeClient) {
    this.#native = nativeClient
  }
  approve(confirmNonce, options) {
    return mapped(() => this.#native.approveConfirmation(confirmNonce, options))
  }
  get(confirmationId) {
    return mapped(() => this.#native.getConfirmation(confirmationId))
  }
  getStatus(confirmationId) {
    return mapped(() => this.#native.getConfirmationStatus(confirmationId))
  }
  waitFor(confirmationId, options) {
    return mapped(() => this.#native.waitForConfirmation(confirmationId, options))
  }
}

/** Decisions sent to a workspace member (`escalate`), read back by id. */
class Escalations {
  #native
  constructor(nativeClient) {
    this.#native = nativeClient
  }
  getStatus(escalationId) {
    return mapped(() => this.#native.getEscalationStatus(escalationId))
  }
  /** The 0.8.0 SDK's alias of `getStatus`. */
  get(escalationId) {
    return this.getStatus(escalationId)
  }
  /** Answers the level the escalation waits on, as the member whose credential (`allowly_mk_…`) this client holds. */
  resolve(escalationId, resolution, options) {
    return mapped(() => this.#native.resolveEscalation(escalationId, resolution, options))
  }
  approve(escalationId, options) {
    return this.resolve(escalationId, 'approved', options)
  }
  reject(escalationId, options) {
    return this.resolve(escalationId, 'rejected', options)
  }
  /** Polls until no member is asked any more (approved at its last level, rejected or expired). */
  waitFor(escalationId, options) {
    return mapped(() => this.#native.waitForEscalation(escalationId, options))
  }
}

class Policies {
  #native
  constructor(nativeClient) {
    this.#native = nativeClient
  }
  async create(request) {
    wellFormed(request?.definition, 'definition')
    return mapped(() => this.#native.createPolicy(request))
  }
  get(policyId) {
    return mapped(() => this.#native.getPolicy(policyId))
  }
  list(options) {
    return mapped(() => this.#native.listPolicies(options))
  }
  archive(policyId, options) {
    return mapped(() => this.#native.archivePolicy(policyId, options?.idempotencyKey))
  }
  async preview(request) {
    wellFormed(request?.definition, 'definition')
    wellFormed(request?.context, 'context')
    return mapped(() => this.#native.previewPolicy(request))
  }
  async publish(request) {
    wellFormed(request?.definition, 'definition')
    return mapped(() => this.#native.publishPolicy(request))
  }
}

class Receipts {
  #native
  constructor(nativeClient) {
    this.#native = nativeClient
  }
  get(receiptId, options) {
    return mapped(() => this.#native.getReceipt(receiptId, options?.waitMs))
  }
  fetchSigned(receiptId, options) {
    return mapped(() => this.#native.fetchSigned(receiptId, options))
  }
}

class Budget {
  #native
  constructor(nativeClient) {
    this.#native = nativeClient
  }
  settle(request) {
    return mapped(() => this.#native.settleBudget(request))
  }
}

class Keys {
  #native
  constructor(nativeClient) {
    this.#native = nativeClient
  }
  fetch(workspaceId) {
    return mapped(() => this.#native.workspaceKeys(workspaceId))
  }
}

/**
 * An enrolled agent's credential (the native class; `instanceof` answers for it). napi throws plain Errors from a
 * sync static, so `fromJson` goes through the error mapping like every other call.
 */
class AgentCredential {
  static fromJson(text) {
    return mapped(() => native.AgentCredential.fromJson(text))
  }
  static [Symbol.hasInstance](value) {
    return value instanceof native.AgentCredential
  }
}

/** Agent enrollment (setup key): the Ed25519 key is generated here and only its public half is registered. */
class Agents {
  #native
  constructor(nativeClient) {
    this.#native = nativeClient
  }
  /** Resolves with the `AgentCredential`; store `credentialJson()` privately on the agent's machine. */
  enroll(agentId) {
    return mapped(() => this.#native.enrollAgent(agentId))
  }
}

/**
 * The workspace's API keys. A created key's text is in `create`'s answer only (`key`), readable but left out of
 * `inspect` and `JSON.stringify` so logging the answer does not leak it.
 */
class ApiKeys {
  #native
  constructor(nativeClient) {
    this.#native = nativeClient
  }
  async create({ tier, name }) {
    return hideSecret(await mapped(() => this.#native.createApiKey(tier, name)), 'key')
  }
  list() {
    return mapped(() => this.#native.listApiKeys())
  }
  revoke(id) {
    return mapped(() => this.#native.revokeApiKey(id))
  }
}

/** The workspace's webhook endpoint; `set` answers a new signing secret, once (kept out of `inspect` and JSON). */
class Webhook {
  #native
  constructor(nativeClient) {
    this.#native = nativeClient
  }
  async set(url) {
    return hideSecret(await mapped(() => this.#native.setWebhook(url)), 'signingSecret')
  }
  get() {
    return mapped(() => this.#native.getWebhook())
  }
  delete() {
    return mapped(() => this.#native.deleteWebhook())
  }
}

/**
 * The members who answer escalations. A created member's `credential` is in that answer only, and is left out of
 * `inspect` and `JSON.stringify` so logging the answer does not leak it.
 */
class Members {
  #native
  constructor(nativeClient) {
    this.#native = nativeClient
  }
  async create(request) {
    return hideSecret(await mapped(() => this.#native.createMember(request)), 'credential')
  }
  list() {
    return mapped(() => this.#native.listMembers())
  }
  /** A new credential; the old one stops working at once. */
  async rotateCredential(memberId) {
    return hideSecret(await mapped(() => this.#native.rotateMemberCredential(memberId)), 'credential')
  }
  revoke(memberId) {
    return mapped(() => this.#native.revokeMember(memberId))
  }
}

/** Keeps a secret shown once readable but not enumerable: `inspect`, `JSON.stringify` and spreads leave it out. */
function hideSecret(answer, field) {
  Object.defineProperty(answer, field, { value: answer[field], enumerable: false })
  return answer
}

class SigningKeys {
  #native
  constructor(nativeClient) {
    this.#native = nativeClient
  }
  /** A new receipt signing key, active now; the old one stays published for verification. */
  rotate() {
    return mapped(() => this.#native.rotateSigningKey())
  }
}

/** Signed receipts read back: `list` one page, `iter` every match (newest first), `export` a time range. */
class Audit {
  #native
  constructor(nativeClient) {
    this.#native = nativeClient
  }
  list(query) {
    return mapped(() => this.#native.audit(query))
  }
  /** An async iterator over every matching signed receipt, fetching a page (`limit`) at a time as it is read. */
  iter(query) {
    const pages = mapped(() => this.#native.auditPages(query))
    return (async function* receipts() {
      for (;;) {
        const page = await mapped(() => pages.nextPage())
        if (page === null || page === undefined) return
        yield* page.receipts
      }
    })()
  }
  export(options) {
    const { since, until } = options ?? {}
    return mapped(() => this.#native.exportReceipts(since, until))
  }
}

/** The setup key's calls (`client.admin`); with a runtime key each rejects with `PermissionDeniedError`. */
class Admin {
  constructor(nativeClient) {
    this.apiKeys = new ApiKeys(nativeClient)
    this.webhook = new Webhook(nativeClient)
    this.signingKeys = new SigningKeys(nativeClient)
    this.audit = new Audit(nativeClient)
    this.members = new Members(nativeClient)
  }
}

/** The Allowly client. One per API key; share it (it holds one connection pool). The key is never readable back. */
class Allowly {
  #native
  #supplier
  constructor(options) {
    // `agentCredential` (an AgentCredential) travels to core as its file text; core signs every check's token.
    // `agentTokenSupplier` (0.8.0's option: a function returning a token or a Promise of one) is called here per check.
    const { agentCredential, agentTokenSupplier, ...rest } = options ?? {}
    if (agentCredential && agentTokenSupplier) {
      throw new errors.ConfigError('pass agentCredential or agentTokenSupplier, not both', { code: 'invalid_config' })
    }
    const opts = agentCredential ? { ...rest, agentCredentialJson: agentCredential.credentialJson() } : rest
    this.#native = mapped(() => new native.NativeClient(opts))
    this.#supplier = agentTokenSupplier
    this.authorizations = new Authorizations(this.#native)
    this.confirmations = new Confirmations(this.#native)
    this.escalations = new Escalations(this.#native)
    this.receipts = new Receipts(this.#native)
    this.budget = new Budget(this.#native)
    this.keys = new Keys(this.#native)
    this.policies = new Policies(this.#native)
    this.agents = new Agents(this.#native)
    this.admin = new Admin(this.#native)
  }
  get baseUrl() {
    return this.#native.baseUrl
  }
  async check(request) {
    if (!this.#supplier) return mapped(() => this.#native.check(request))
    const token = await this.#supplier()
    if (typeof token !== 'string' || token.trim() === '') {
      throw new errors.ConfigError('agentTokenSupplier must return a non-empty string', { code: 'invalid_config' })
    }
    return mapped(() => this.#native.checkWithAgentToken(request, token))
  }
  readiness() {
    return mapped(() => this.#native.readiness())
  }
  /** For `openallowly/mcp`, which shares this client's connection pool with the gate. */
  static nativeOf(allowly) {
    return allowly.#native
  }
  [inspect.custom]() {
    return `Allowly { baseUrl: ${inspect(this.baseUrl)} }`
  }
  toJSON() {
    return { baseUrl: this.baseUrl }
  }
}

/** Loads a workspace key document: its JSON text or bytes (checked strictly), or an already-parsed object. */
function loadKeysFromJson(doc) {
  const input = typeof doc === 'string' || doc instanceof Uint8Array ? toBuffer(doc) : JSON.stringify(doc)
  return mapped(() => native.loadKeysFromJsonText(input))
}

/**
 * Fetches a workspace's key document (the official 0.8.0 SDK's `fetch_keys_doc`): core checks the scheme, the pinned
 * `expectedSha256` of the exact bytes and the document itself; resolves with the object `loadKeysFromJson` takes.
 */
function fetchKeysDoc(workspaceId, options) {
  return mapped(() => native.fetchKeysDoc(workspaceId, options))
}

function toBuffer(input) {
  return typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength)
}

/**
 * The exact text to verify: a `SignedReceipt` / signed envelope carries the server's bytes in `json`; text and bytes
 * are taken as they are; any other object is serialized (already parsed, so duplicates and number spellings are gone).
 */
function receiptText(receipt) {
  if (typeof receipt === 'string' || receipt instanceof Uint8Array) return toBuffer(receipt)
  if (receipt && typeof receipt === 'object' && receipt.status === 'signed' && typeof receipt.json === 'string') {
    return receipt.json
  }
  if (receipt && typeof receipt === 'object' && receipt.status === 'pending') {
    throw new errors.VerificationError(`receipt ${receipt.receiptId} is still pending; fetch it with receipts.fetchSigned`, {
      code: 'schema',
    })
  }
  return JSON.stringify(receipt) ?? 'null'
}

/** Verifies a signed receipt offline; throws `VerificationError` when it is not valid. */
function verifyReceipt(receipt, keys, options) {
  return mapped(() => native.verifyReceiptText(receiptText(receipt), keys, options))
}

/** `[name, value]` pairs from a plain object, a `Headers` / `Map`, or pairs already (repeats are kept: core refuses them). */
function headerPairs(headers) {
  if (headers == null || typeof headers !== 'object') {
    throw new errors.ValidationError('headers: must be an object, a Headers / Map or [name, value] pairs', {
      code: 'invalid_input',
      fields: [{ field: 'headers', message: 'must be an object, a Headers / Map or [name, value] pairs' }],
    })
  }
  const entries = typeof headers[Symbol.iterator] === 'function' ? [...headers] : Object.entries(headers)
  return entries.map(([name, value]) => [String(name), Array.isArray(value) ? value.join(', ') : String(value)])
}

/**
 * Verifies one webhook delivery from an Allowly server (allowly-core's `verify_webhook`): the Standard Webhooks
 * signature over the exact body, the 300 s tolerance, the expected workspace and, through `options.seen`, replays.
 * `seen` is a `MemorySeenIds`, or `(eventId, forgetAfter) => boolean` (true when new and now recorded); without
 * it the process's in-memory store is used. Throws `WebhookVerificationError` (or `ValidationError` for a bad
 * secret or workspace).
 */
function verifyWebhook(body, headers, secret, expectedWorkspaceId, options = {}) {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : toBuffer(body)
  const { seen, toleranceSeconds, now } = options
  const store = seen instanceof native.MemorySeenIds ? seen : undefined
  const callback = typeof seen === 'function' ? seen : undefined
  if (seen != null && !store && !callback) {
    throw new errors.ValidationError('seen: must be a MemorySeenIds or a function', {
      code: 'invalid_input',
      fields: [{ field: 'seen', message: 'must be a MemorySeenIds or a function' }],
    })
  }
  return mapped(() =>
    native.verifyWebhook(bytes, headerPairs(headers), secret, expectedWorkspaceId, { toleranceSeconds, now }, store, callback),
  )
}

const identifiers = Object.freeze({
  /**
   * `email_hmac:v1:…`, the same id every Allowly SDK derives for this email and pepper. The pepper is text (its UTF-8
   * bytes) or bytes, so a pepper kept as raw bytes gives the id its text spelling gives; `version` is only ever `v1`.
   */
  fromEmail(email, options) {
    const pepper = options?.pepper ?? ''
    const bytes = pepper instanceof Uint8Array ? toBuffer(pepper) : pepper
    return mapped(() => native.identifierFromEmail(email, bytes, options?.version))
  },
})

/** The `allowly.policy.v1` profile, locally: allowly-core's validator, digests and evaluator (no network). */
const policy = Object.freeze({
  validateDefinition(definition) {
    return mapped(() => native.validatePolicyDefinition(wellFormed(definition, 'definition')))
  },
  definitionDigest(definition) {
    return mapped(() => native.policyDefinitionDigest(wellFormed(definition, 'definition')))
  },
  inputDigest(definition, action, context) {
    wellFormed(definition, 'definition')
    return mapped(() => native.policyInputDigest(definition, wellFormed(action, 'action'), wellFormed(context, 'context')))
  },
  evaluate(definition, action, context) {
    wellFormed(definition, 'definition')
    return mapped(() => native.evaluatePolicy(definition, wellFormed(action, 'action'), wellFormed(context, 'context')))
  },
  engineVersion() {
    return native.policyEngineVersion()
  },
})

module.exports = {
  Allowly,
  Admin,
  identifiers,
  policy,
  verifyReceipt,
  verifyWebhook,
  loadKeysFromJson,
  fetchKeysDoc,
  KeySet: native.KeySet,
  AgentCredential,
  NativeAgentCredential: AgentCredential,
  MemorySeenIds: native.MemorySeenIds,
  AllowlyError: errors.AllowlyError,
  AuthenticationError: errors.AuthenticationError,
  PermissionDeniedError: errors.PermissionDeniedError,
  NotFoundError: errors.NotFoundError,
  ConflictError: errors.ConflictError,
  ValidationError: errors.ValidationError,
  RateLimitError: errors.RateLimitError,
  ServerError: errors.ServerError,
  TimeoutError: errors.TimeoutError,
  NetworkError: errors.NetworkError,
  ProtocolError: errors.ProtocolError,
  ConfigError: errors.ConfigError,
  VerificationError: errors.VerificationError,
  WebhookVerificationError: errors.WebhookVerificationError,
}
