// The idiomatic Swift layer over the UniFFI-generated bindings (module AllowlyFFI, re-exported). Every method is one
// call into the native client; behaviour (retries, fail-closed check, polling, verification) lives in allowly-core.
import Foundation

@_exported import AllowlyFFI

/// The Allowly client. One instance per API key; share it (it owns one connection pool). The key is handed to the
/// native client and never stored here, so no `description` or error message can show it.
public final class Allowly: CustomStringConvertible, @unchecked Sendable {
    /// The native client, for the MCP gate (AllowlyMCP).
    package let native: NativeClient

    /// Throws `AllowlyError.Config` for an invalid configuration (empty key, `http://` without
    /// `allowInsecureHttp`, …). Sends nothing.
    public init(apiKey: String, options: ClientOptions = ClientOptions()) throws {
        native = try NativeClient(apiKey: apiKey, options: options)
    }

    /// The normalized base URL requests go to.
    public var baseUrl: String { native.baseUrl() }

    public var description: String { "Allowly(baseUrl: \(baseUrl))" }

    /// The setup-key calls (API keys, members, webhook, signing keys, audit); see `Admin`.
    public var admin: Admin { Admin(native: native) }

    public func createAuthorization(_ request: CreateAuthorizationRequest) async throws -> Authorization {
        try await native.createAuthorization(request: request)
    }

    /// Grants a user one policy edition: all its actions, or the `actions` subset (the official 0.8.0 call shape).
    public func createAuthorizationFromPolicy(_ request: EditionAuthorizationRequest) async throws
        -> EditionAuthorization
    {
        try await native.createEditionAuthorization(request: request)
    }

    public func getAuthorization(_ authorizationId: String) async throws -> Authorization {
        try await native.getAuthorization(authorizationId: authorizationId)
    }

    /// Idempotent on the server: revoking twice returns the first result.
    public func revokeAuthorization(_ authorizationId: String, revokedBy: String, notes: String? = nil) async throws
        -> Revocation
    {
        try await native.revokeAuthorization(authorizationId: authorizationId, revokedBy: revokedBy, notes: notes)
    }

    /// Fails closed: an unreachable or failing server yields deny `fallback_closed_*` results, not an error.
    public func check(_ request: CheckRequest) async throws -> CheckResponse {
        try await native.check(request: request)
    }

    /// Shorthand for a check of `scopes` on one authorization.
    public func check(
        authorizationId: String, scopes: [String], resource: String? = nil, contextJson: String? = nil
    ) async throws -> CheckResponse {
        try await native.check(
            request: CheckRequest(
                authorizationId: authorizationId, scopes: scopes, resource: resource, contextJson: contextJson))
    }

    /// Records the user's answer to a `confirm` decision (the nonce works once).
    public func approve(_ nonce: ConfirmNonce, approved: Bool = true, ttl: TimeInterval? = nil) async throws
        -> ConfirmationResolution
    {
        try await native.approveConfirmation(nonce: nonce, approved: approved, ttl: ttl)
    }

    public func getConfirmation(_ confirmationId: String) async throws -> Confirmation {
        try await native.getConfirmation(confirmationId: confirmationId)
    }

    /// The 0.8.0 monitor view: the state and whether the approval is still usable (`authorityStatus`).
    public func getConfirmationStatus(_ confirmationId: String) async throws -> ConfirmationMonitor {
        try await native.getConfirmationStatus(confirmationId: confirmationId)
    }

    /// The 0.8.0 monitor view of an escalation: whether the member answered and whether an approval is still usable.
    public func getEscalationStatus(_ escalationId: String) async throws -> EscalationMonitor {
        try await native.getEscalationStatus(escalationId: escalationId)
    }

    /// Answers the level the escalation waits on (`approved` or `rejected`) as the member whose credential
    /// (`allowly_mk_…`) this client was built with; `resolvedBy` is the official 0.8.0 field, checked by the server.
    public func resolveEscalation(
        _ escalationId: String, resolution: String, note: String? = nil, resolvedBy: String? = nil
    ) async throws -> EscalationResolved {
        try await native.resolveEscalation(
            escalationId: escalationId, resolution: resolution, note: note, resolvedBy: resolvedBy)
    }

    public func approveEscalation(_ escalationId: String, note: String? = nil, resolvedBy: String? = nil)
        async throws -> EscalationResolved
    {
        try await resolveEscalation(escalationId, resolution: "approved", note: note, resolvedBy: resolvedBy)
    }

    public func rejectEscalation(_ escalationId: String, note: String? = nil, resolvedBy: String? = nil)
        async throws -> EscalationResolved
    {
        try await resolveEscalation(escalationId, resolution: "rejected", note: note, resolvedBy: resolvedBy)
    }

    /// Polls until no member is asked any more; `AllowlyError.Timeout` if still pending after `timeout`.
    public func waitForEscalation(
        _ escalationId: String, timeout: TimeInterval = AllowlyDefaults.waitTimeout,
        pollInterval: TimeInterval = AllowlyDefaults.waitPollInterval
    )
        async throws -> EscalationMonitor
    {
        try await native.waitForEscalation(
            escalationId: escalationId, timeout: timeout, pollInterval: pollInterval)
    }

    /// Enrolls `agentId` (setup key): an Ed25519 key generated here, only its public half registered. Store the
    /// credential's `credentialJson()` privately; pass the credential as `ClientOptions.agentCredential`.
    public func enrollAgent(_ agentId: String) async throws -> AgentCredential {
        try await native.enrollAgent(agentId: agentId)
    }

    /// `GET /readyz`: true when the server can decide now; a not-ready answer is `false`, not an error.
    public func readiness() async throws -> Bool {
        try await native.readiness()
    }

    /// Creates the next edition of `policyId` (a setup key's call). The definition (JSON text) is validated by
    /// allowly-core first: an invalid one throws `AllowlyError.Validation` naming its path and is never sent.
    public func createPolicy(
        _ policyId: String, definitionJson: String, description: String? = nil, previousPolicyRef: PolicyRef? = nil,
        idempotencyKey: String? = nil
    ) async throws -> Policy {
        try await native.createPolicy(
            policyId: policyId, definitionJson: definitionJson, description: description,
            previousPolicyRef: previousPolicyRef, idempotencyKey: idempotencyKey)
    }

    /// Publishes an edition and migrates the previous one's authorizations; a retry must reuse `idempotencyKey`.
    public func publishPolicy(
        _ policyId: String, definitionJson: String, idempotencyKey: String, description: String? = nil,
        previousPolicyRef: PolicyRef? = nil
    ) async throws -> PolicyPublication {
        try await native.publishPolicy(
            policyId: policyId, definitionJson: definitionJson, idempotencyKey: idempotencyKey,
            description: description, previousPolicyRef: previousPolicyRef)
    }

    /// The newest edition of `policyId`.
    public func getPolicy(_ policyId: String) async throws -> Policy {
        try await native.getPolicy(policyId: policyId)
    }

    public func listPolicies(limit: UInt32? = nil, cursor: String? = nil) async throws -> PolicyPage {
        try await native.listPolicies(limit: limit, cursor: cursor)
    }

    public func archivePolicy(_ policyId: String, idempotencyKey: String? = nil) async throws {
        try await native.archivePolicy(policyId: policyId, idempotencyKey: idempotencyKey)
    }

    /// A provisional evaluation on the server, checked against the same evaluation made locally first.
    public func previewPolicy(definitionJson: String, action: String, contextJson: String = "{}") async throws
        -> PolicyPreview
    {
        try await native.previewPolicy(definitionJson: definitionJson, action: action, contextJson: contextJson)
    }

    /// Polls until the user answered; `AllowlyError.Timeout` if nobody did within `timeout`.
    public func waitForConfirmation(
        _ confirmationId: String, timeout: TimeInterval = AllowlyDefaults.waitTimeout,
        pollInterval: TimeInterval = AllowlyDefaults.waitPollInterval
    )
        async throws -> Confirmation
    {
        try await native.waitForConfirmation(
            confirmationId: confirmationId, timeout: timeout, pollInterval: pollInterval)
    }

    /// Replaces an allowed budgeted check's estimate with `actualCostMicros` (the check's receipt id); settling the
    /// same check twice throws `AllowlyError.Conflict` (`already_settled`).
    public func settleBudget(_ checkReceiptId: String, actualCostMicros: Int64) async throws -> Settlement {
        try await native.settleBudget(checkReceiptId: checkReceiptId, actualCostMicros: actualCostMicros)
    }

    /// Polls until the receipt is signed; the result's `json` is what `verifyReceiptJson` needs.
    public func fetchSigned(
        _ receiptId: String, timeout: TimeInterval = AllowlyDefaults.fetchSignedTimeout,
        pollInterval: TimeInterval = AllowlyDefaults.fetchSignedPollInterval
    )
        async throws -> SignedReceipt
    {
        try await native.fetchSigned(receiptId: receiptId, pollInterval: pollInterval, timeout: timeout)
    }

    /// The workspace's key document, for `verifyReceiptJson`.
    public func workspaceKeys(_ workspaceId: String) async throws -> KeySet {
        try await native.workspaceKeys(workspaceId: workspaceId)
    }

    /// The confirm flow in one call: check; for every `confirm` scope, `ask` the user and approve or reject; then, if
    /// anyone was asked, check again and return that.
    public func checkWithConfirmation(
        _ request: CheckRequest, ask: @escaping @Sendable (ConfirmPrompt) async -> Bool
    ) async throws -> CheckResponse {
        try await native.checkWithConfirmation(request: request, handler: ClosureConfirmHandler(ask))
    }
}

/// Adapts a closure to the generated `ConfirmHandler` protocol.
private final class ClosureConfirmHandler: ConfirmHandler, @unchecked Sendable {
    private let ask: @Sendable (ConfirmPrompt) async -> Bool

    init(_ ask: @escaping @Sendable (ConfirmPrompt) async -> Bool) {
        self.ask = ask
    }

    func confirm(prompt: ConfirmPrompt) async -> Bool {
        await ask(prompt)
    }
}

/// What a check decided for one scope, as a type to `switch` over.
public enum Decision: CustomStringConvertible {
    case allow(reason: String, isFallback: Bool)
    /// Ask the user, then `Allowly.approve(nonce)` and check again. The nonce's description is redacted.
    case confirm(reason: String, nonce: ConfirmNonce?, confirmationId: String?, promptHint: String?)
    case deny(reason: String, isFallback: Bool)
    case escalate(reason: String)

    /// The reason code (`scope_granted`, `scope_requires_user_confirmation`, `fallback_closed_*`, …).
    public var reason: String {
        switch self {
        case .allow(let reason, _), .confirm(let reason, _, _, _), .deny(let reason, _), .escalate(let reason):
            return reason
        }
    }

    public var description: String {
        switch self {
        case .allow: return "allow(\(reason))"
        case .confirm(_, _, let confirmationId, _): return "confirm(\(reason), \(confirmationId ?? "-"))"
        case .deny: return "deny(\(reason))"
        case .escalate: return "escalate(\(reason))"
        }
    }
}

extension ScopeResult {
    /// This scope result as a `Decision`.
    public var outcome: Decision {
        switch decision {
        case .allow: return .allow(reason: reason, isFallback: isFallback)
        case .confirm:
            return .confirm(
                reason: reason, nonce: confirmNonce, confirmationId: confirmationId, promptHint: confirmPromptHint)
        case .deny: return .deny(reason: reason, isFallback: isFallback)
        case .escalate: return .escalate(reason: reason)
        }
    }
}

extension CheckResponse {
    /// The decision for `scope`, or nil when it was not requested.
    public func decision(_ scope: String) -> Decision? {
        results[scope]?.outcome
    }
}

/// `email_hmac:v1:…` from a pepper kept as bytes: the id `fromEmail(email:pepper:)` gives for the pepper's UTF-8
/// bytes (as the official 0.8.0 SDK allows either); `version` nil is core's one scheme, any other throws
/// `AllowlyError.Validation`. UniFFI cannot overload, so the native call has its own name.
public func fromEmail(email: String, pepper: Data, version: String? = nil) throws -> String {
    try fromEmailBytes(email: email, pepper: pepper, version: version)
}

extension VerificationErrorKind {
    /// The stable code (`signature_mismatch`, …), as in every other language.
    public var code: String { verificationErrorCode(kind: self) }
}

/// Core's duration defaults (`allowly_core::client::DEFAULT_DURATIONS`), read once from the native library, so no
/// default is spelled in Swift. Public because Swift's default arguments of public functions may only name public
/// declarations.
public enum AllowlyDefaults {
    static let all: [String: TimeInterval] = clientDefaultDurations()

    public static var waitTimeout: TimeInterval { all["wait_timeout"]! }
    public static var waitPollInterval: TimeInterval { all["wait_poll_interval"]! }
    public static var fetchSignedTimeout: TimeInterval { all["fetch_signed_timeout"]! }
    public static var fetchSignedPollInterval: TimeInterval { all["fetch_signed_poll_interval"]! }
}
