// Public types of openallowly. Wire models come from the generated native/index.d.ts (napi-rs, drift-tested), so
// they are declared once; this file only types the JS layer around them.

import type {
  ApiKey,
  ApiKeyRevocation,
  AuditPage,
  AuditQuery,
  CreatedApiKey,
  CreatedMember,
  CreateMemberRequest,
  EscalationResolved,
  Member,
  MemberRevocation,
  ResolveEscalationOptions,
  SigningKeyRotation,
  WebhookEndpoint,
  WebhookSecret,
  ApproveOptions,
  Authorization,
  CheckRequest,
  CheckResponse,
  ClientOptions,
  Confirmation,
  ConfirmationMonitor,
  ConfirmationResolution,
  CreateAuthorizationRequest,
  CreatePolicyRequest,
  EditionAuthorization,
  EditionAuthorizationRequest,
  EscalationMonitor,
  FetchSignedOpts,
  KeySet,
  ListPoliciesOptions,
  Policy,
  PolicyEval,
  PolicyPage,
  PolicyPreview,
  PolicyPreviewRequest,
  PolicyPublication,
  ReceiptEnvelope,
  Revocation,
  RevokeOptions,
  Settlement,
  SettlementRequest,
  SignedReceipt,
  VerifiedReceipt,
  VerifyReceiptOptions,
  WaitOptions,
} from '../native/index.js'

export type {
  ApiKey,
  ApiKeyRevocation,
  AuditPage,
  AuditQuery,
  AuditRow,
  CreatedApiKey,
  CreatedMember,
  CreateMemberRequest,
  EscalationResolved,
  Member,
  MemberRevocation,
  ResolveEscalationOptions,
  EscalationStep,
  SigningKeyRotation,
  WebhookEndpoint,
  WebhookSecret,
  ApproveOptions,
  Authorization,
  AuthorizationMigration,
  AuthorizationStatus,
  BudgetInfo,
  CheckRequest,
  CheckResponse,
  ClientOptions,
  Condition,
  ConditionOp,
  Confirmation,
  ConfirmationMonitor,
  ConfirmationResolution,
  CreateAuthorizationRequest,
  CreatePolicyRequest,
  Decision,
  EditionAuthorization,
  EditionAuthorizationRequest,
  EscalationMonitor,
  ListPoliciesOptions,
  Policy,
  PolicyEval,
  PolicyPage,
  PolicyPreview,
  PolicyPreviewRequest,
  PolicyPublication,
  PolicyRef,
  PolicyResult,
  FetchSignedOpts as FetchSignedOptions,
  Reason,
  ReceiptEnvelope,
  ReceiptStatus,
  Revocation,
  RevokeOptions,
  ScopeConstraints,
  ScopeGrant,
  ScopeResult,
  Settlement,
  SettlementRequest,
  SignedReceipt,
  VerifiedReceipt,
  VerifyReceiptOptions,
  WaitOptions,
} from '../native/index.js'
export { KeySet, AgentCredential } from '../native/index.js'
import { AgentCredential } from '../native/index.js'
/** 0.8.0's name for the same credential class. */
export declare const NativeAgentCredential: typeof AgentCredential

/** Agent enrollment (setup key): the Ed25519 key is generated here and only its public half is registered. */
export declare class Agents {
  private constructor()
  /** Resolves with the credential; store `credentialJson()` privately on the agent's machine. */
  enroll(agentId: string): Promise<AgentCredential>
}

/** `ClientOptions` plus `agentCredential`: every check then carries a fresh agent token signed from it. */
export type AllowlyOptions = ClientOptions & {
  agentCredential?: AgentCredential
  /** 0.8.0's option: called before every check; its token is sent as `X-Allowly-Agent-Token`. */
  agentTokenSupplier?: () => string | Promise<string>
}

export declare class Authorizations {
  private constructor()
  create(request: CreateAuthorizationRequest): Promise<Authorization>
  /** Grants a user one policy edition: all its actions, or the `actions` subset (the official 0.8.0 call shape). */
  createFromPolicy(request: EditionAuthorizationRequest): Promise<EditionAuthorization>
  get(authorizationId: string): Promise<Authorization>
  /** Idempotent on the server; the revocation is receipted too. */
  revoke(authorizationId: string, options: RevokeOptions): Promise<Revocation>
}

export declare class Confirmations {
  private constructor()
  /** Records the user's answer. A nonce works once (reuse: `NotFoundError`; expired: `ConflictError`). */
  approve(confirmNonce: string, options: ApproveOptions): Promise<ConfirmationResolution>
  get(confirmationId: string): Promise<Confirmation>
  /** The 0.8.0 monitor view: the state and whether the approval is still usable (`authorityStatus`). */
  getStatus(confirmationId: string): Promise<ConfirmationMonitor>
  /** Polls until the confirmation is no longer pending (`TimeoutError` after `timeoutMs`, default 60 000). */
  waitFor(confirmationId: string, options?: WaitOptions): Promise<Confirmation>
}

/** Decisions sent to a workspace member (`escalate`), read back by id. */
export declare class Escalations {
  private constructor()
  /** The 0.8.0 monitor view: whether the member answered and whether an approval is still usable (`authorityStatus`). */
  getStatus(escalationId: string): Promise<EscalationMonitor>
  /** The 0.8.0 SDK's alias of `getStatus`. */
  get(escalationId: string): Promise<EscalationMonitor>
  /**
   * Answers the level the escalation waits on, as the member whose credential (`allowly_mk_…`) this client holds.
   * Another member: `PermissionDeniedError` (`escalation_wrong_member`); already answered: `ConflictError`
   * (`escalation_not_pending`); past its expiry: `ConflictError` (410 `escalation_expired`).
   */
  resolve(
    escalationId: string,
    resolution: 'approved' | 'rejected',
    options?: ResolveEscalationOptions,
  ): Promise<EscalationResolved>
  approve(escalationId: string, options?: ResolveEscalationOptions): Promise<EscalationResolved>
  reject(escalationId: string, options?: ResolveEscalationOptions): Promise<EscalationResolved>
  /** Polls until no member is asked any more (`TimeoutError` after `timeoutMs`, default 60 000). */
  waitFor(escalationId: string, options?: WaitOptions): Promise<EscalationMonitor>
}

/**
 * Policy editions (a setup key's calls). Every definition is validated locally by allowly-core before it is sent: an
 * invalid one throws `ValidationError` naming its path and never leaves the process.
 */
export declare class Policies {
  private constructor()
  create(request: CreatePolicyRequest): Promise<Policy>
  /** The newest edition. */
  get(policyId: string): Promise<Policy>
  list(options?: ListPoliciesOptions): Promise<PolicyPage>
  archive(policyId: string, options?: { idempotencyKey?: string }): Promise<void>
  /** A provisional evaluation on the server, checked against the same evaluation made locally. */
  preview(request: PolicyPreviewRequest): Promise<PolicyPreview>
  /** Publishes an edition and migrates the previous one's authorizations; `idempotencyKey` is required. */
  publish(request: CreatePolicyRequest & { idempotencyKey: string }): Promise<PolicyPublication>
}

export declare class Receipts {
  private constructor()
  get(receiptId: string, options?: { waitMs?: number }): Promise<ReceiptEnvelope>
  /** Polls (long-poll) until the receipt is signed; the result keeps the server's exact bytes for `verifyReceipt`. */
  fetchSigned(receiptId: string, options?: FetchSignedOpts): Promise<SignedReceipt>
}

export declare class Budget {
  private constructor()
  settle(request: SettlementRequest): Promise<Settlement>
}

export declare class Keys {
  private constructor()
  /** The workspace's key document, parsed strictly from the server's bytes. */
  fetch(workspaceId: string): Promise<KeySet>
}

/** The Allowly client. One per API key; share it. The key is never readable back or shown by `inspect`. */
export declare class ApiKeys {
  private constructor()
  /** `key` holds the new key's text, in this answer only. */
  create(request: { tier: 'runtime' | 'setup'; name: string }): Promise<CreatedApiKey>
  list(): Promise<ApiKey[]>
  revoke(id: string): Promise<ApiKeyRevocation>
}

export declare class Webhook {
  private constructor()
  /** A new signing secret (`whsec_…`), in this answer only. */
  set(url: string): Promise<WebhookSecret>
  get(): Promise<WebhookEndpoint>
  delete(): Promise<void>
}

/** The members who answer escalations (`member:<memberId>` targets). */
export declare class Members {
  private constructor()
  /** `credential` holds the member's `allowly_mk_…` credential, in this answer only (not enumerable). */
  create(request: CreateMemberRequest): Promise<CreatedMember>
  list(): Promise<Member[]>
  /** A new credential, in this answer only; the old one stops working at once. */
  rotateCredential(memberId: string): Promise<CreatedMember>
  revoke(memberId: string): Promise<MemberRevocation>
}

export declare class SigningKeys {
  private constructor()
  rotate(): Promise<SigningKeyRotation>
}

export declare class Audit {
  private constructor()
  list(query?: AuditQuery): Promise<AuditPage>
  /** Every matching signed receipt, newest first, a page (`limit`) at a time. */
  iter(query?: Omit<AuditQuery, 'cursor'>): AsyncIterableIterator<SignedReceipt>
  export(options?: { since?: string; until?: string }): Promise<SignedReceipt[]>
}

/** The setup key's calls; with a runtime key each rejects with `PermissionDeniedError` (`insufficient_key_tier`). */
export declare class Admin {
  private constructor()
  readonly apiKeys: ApiKeys
  readonly webhook: Webhook
  readonly signingKeys: SigningKeys
  readonly audit: Audit
  readonly members: Members
}

export declare class Allowly {
  constructor(options: AllowlyOptions)
  readonly baseUrl: string
  readonly authorizations: Authorizations
  readonly confirmations: Confirmations
  readonly escalations: Escalations
  readonly receipts: Receipts
  readonly budget: Budget
  readonly keys: Keys
  readonly policies: Policies
  readonly agents: Agents
  readonly admin: Admin
  /**
   * Checks scopes before an action. Fails closed: when the server is unreachable, too slow or failing, the results
   * are deny `fallback_closed_*` (allow only for scopes mapped `'open'` in `fallbackByScope`), never an error.
   */
  check(request: CheckRequest): Promise<CheckResponse>
  /** `GET /readyz`: true when the server can decide now; a not-ready answer is `false`, not an error. */
  readiness(): Promise<boolean>
}

/** The `allowly.policy.v1` profile, locally (allowly-core's code, the same the server runs). */
export declare const policy: {
  /** Returns the definition unchanged when valid; throws `ValidationError` whose `fields[0].field` is the path. */
  validateDefinition(definition: object): object
  /** Lowercase hex SHA-256 of the canonical definition (`policyRef.definitionSha256`). */
  definitionDigest(definition: object): string
  /** The `inputSha256` an evaluation of `action` for `context` commits to. */
  inputDigest(definition: object, action: string, context: object): string
  /** Evaluates `action` for `context` as the server would. */
  evaluate(definition: object, action: string, context: object): PolicyEval
  /** `sha256:<hex>` naming this evaluator. */
  engineVersion(): string
}

/** A key document: its exact JSON text or bytes (checked strictly), or the object `JSON.parse` made of it. */
export declare function loadKeysFromJson(doc: string | Uint8Array | object): KeySet

/** Options of `fetchKeysDoc`; each defaults to core's (the hosted base URL, a 300 s cache, HTTPS only). */
export interface FetchKeysDocOptions {
  baseUrl?: string
  /** Hex SHA-256 of the exact document bytes, pinned out of band; other bytes reject with `KeyDocumentError`. */
  expectedSha256?: string
  /** How long a fetched document is reused for the same URL and pin; 0 fetches every time. */
  cacheTtlSeconds?: number
  /** Allow `http://` (local development only). */
  allowInsecureHttp?: boolean
}

/**
 * Fetches a workspace's key document without credentials (the official 0.8.0 SDK's `fetch_keys_doc`): no redirects,
 * the pinned SHA-256 when given, a valid document naming this workspace. Resolves with what `loadKeysFromJson` takes.
 */
export declare function fetchKeysDoc(workspaceId: string, options?: FetchKeysDocOptions): Promise<object>

/**
 * Verifies a signed receipt offline (no network). Pass a `SignedReceipt` (or signed envelope) so the server's exact
 * bytes are verified; raw JSON text or bytes work too. Throws `VerificationError` when the receipt is not valid.
 */
export declare function verifyReceipt(
  receipt: SignedReceipt | ReceiptEnvelope | string | Uint8Array | object,
  keys: KeySet,
  options?: VerifyReceiptOptions,
): VerifiedReceipt

/** A bounded in-memory store of accepted webhook ids; share one per receiver. */
export declare class MemorySeenIds {
  constructor(capacity?: number)
  /** How many ids are remembered now. */
  readonly size: number
}

export interface VerifyWebhookOptions {
  /** Default 300. */
  toleranceSeconds?: number
  /** The receiver's clock in Unix seconds; default the system clock. */
  now?: number
  /** Where accepted ids are remembered: a `MemorySeenIds`, or your own `(eventId, forgetAfter) => boolean` (true when
   * the id is new and now recorded; `forgetAfter` is the Unix second after which it may be dropped). Default: one
   * in-memory store per process. */
  seen?: MemorySeenIds | ((eventId: string, forgetAfter: number) => boolean)
}

export interface WebhookEvent {
  id: string
  type: string
  timestamp: string
  workspaceId: string
  data: Record<string, unknown>
}

/**
 * Verifies one webhook delivery (the exact body bytes, its headers, the endpoint's `whsec_` secret, the workspace you
 * expect): signature, 300 s tolerance, workspace and replays. Throws `WebhookVerificationError`.
 */
export declare function verifyWebhook(
  body: Uint8Array | string,
  headers: Record<string, string | string[]> | Iterable<[string, string]>,
  secret: string,
  expectedWorkspaceId: string,
  options?: VerifyWebhookOptions,
): WebhookEvent

export declare const identifiers: {
  /**
   * `email_hmac:v1:…`: the same id every Allowly SDK derives for this email and pepper (text = its UTF-8 bytes).
   * `version` defaults to `"v1"`, the only scheme; another throws `ValidationError`.
   */
  fromEmail(email: string, options: { pepper: string | Uint8Array; version?: string }): string
}

export interface FieldError {
  field: string
  message: string
}

/** Base class of every error the SDK throws on purpose. */
export declare class AllowlyError extends Error {
  /** Stable machine code: the server's `error.code`, or a fixed name (`timeout`, `network_error`, …). */
  readonly code: string
  /** The HTTP status the error came from, if any. */
  readonly status: number | null
}
export declare class AuthenticationError extends AllowlyError {}
export declare class PermissionDeniedError extends AllowlyError {}
export declare class NotFoundError extends AllowlyError {}
export declare class ConflictError extends AllowlyError {}
export declare class ValidationError extends AllowlyError {
  readonly fields: FieldError[]
}
export declare class RateLimitError extends AllowlyError {
  /** Seconds, from `Retry-After`; null when the server did not say. */
  readonly retryAfter: number | null
}
export declare class ServerError extends AllowlyError {
  /** Seconds, from `Retry-After` (a 503 `overloaded` sends one); null when the server did not say. */
  readonly retryAfter: number | null
}
export declare class TimeoutError extends AllowlyError {}
export declare class NetworkError extends AllowlyError {}
export declare class ProtocolError extends AllowlyError {}
export declare class ConfigError extends AllowlyError {}
export type VerificationErrorCode =
  | 'malformed'
  | 'schema'
  | 'unsupported_version'
  | 'timestamp'
  | 'unknown_key'
  | 'key_outside_window'
  | 'untrusted_key'
  | 'workspace_mismatch'
  | 'signature_mismatch'
  | 'key_document'
  | 'checkpoint'
export declare class VerificationError extends AllowlyError {
  readonly code: VerificationErrorCode
  readonly kind: VerificationErrorCode
}
export type WebhookVerificationErrorKind =
  | 'malformed'
  | 'signature_mismatch'
  | 'timestamp'
  | 'workspace_mismatch'
  | 'replay'
export declare class WebhookVerificationError extends AllowlyError {
  readonly code: `webhook_${WebhookVerificationErrorKind}`
  readonly kind: WebhookVerificationErrorKind
}
