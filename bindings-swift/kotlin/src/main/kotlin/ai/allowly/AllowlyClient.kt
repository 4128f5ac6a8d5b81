// The idiomatic Kotlin client over the UniFFI-generated bindings in allowly.kt (same package; this file is not named
// Allowly.kt because that would clash with allowly.kt on case-insensitive file systems and in the JVM class name). Every method is one call
// into the native client; behaviour (retries, fail-closed check, polling, verification) lives in allowly-core.
package ai.allowly

import kotlin.time.Duration
import kotlin.time.toJavaDuration
import kotlin.time.toKotlinDuration

/** Core's duration defaults (`allowly_core::client::DEFAULT_DURATIONS`), read once: no default is spelled here. */
internal object CoreDefaults {
    private val all: Map<String, java.time.Duration> by lazy { clientDefaultDurations() }

    fun of(name: String): Duration =
        (all[name] ?: error("allowly-core has no default named $name")).toKotlinDuration()
}

/**
 * The Allowly client. One instance per API key; share it (it owns one connection pool). The key is handed to the
 * native client and is never stored here, so neither [toString] nor any error message can show it.
 */
class Allowly(apiKey: String, options: ClientOptions = ClientOptions()) : AutoCloseable {
    internal val native = NativeClient(apiKey, options)

    /** The normalized base URL requests go to. */
    val baseUrl: String get() = native.baseUrl()

    suspend fun createAuthorization(request: CreateAuthorizationRequest): Authorization =
        native.createAuthorization(request)

    /** Grants a user one policy edition: all its actions, or the `actions` subset (the official 0.8.0 call shape). */
    suspend fun createAuthorizationFromPolicy(request: EditionAuthorizationRequest): EditionAuthorization =
        native.createEditionAuthorization(request)

    suspend fun getAuthorization(authorizationId: String): Authorization = native.getAuthorization(authorizationId)

    /** Idempotent on the server: revoking twice returns the first result. */
    suspend fun revokeAuthorization(authorizationId: String, revokedBy: String, notes: String? = null): Revocation =
        native.revokeAuthorization(authorizationId, revokedBy, notes)

    /** Fails closed: an unreachable or failing server yields deny `fallback_closed_*` results, not an exception. */
    suspend fun check(request: CheckRequest): CheckResponse = native.check(request)

    /** Shorthand for a check of [scopes] on one authorization. */
    suspend fun check(
        authorizationId: String,
        scopes: List<String>,
        resource: String? = null,
        contextJson: String? = null,
    ): CheckResponse = native.check(CheckRequest(authorizationId, scopes, resource = resource, contextJson = contextJson))

    /** Records the user's answer to a `confirm` decision (the nonce works once). */
    suspend fun approve(nonce: ConfirmNonce, approved: Boolean = true, ttl: Duration? = null): ConfirmationResolution =
        native.approveConfirmation(nonce, approved, ttl?.toJavaDuration())

    suspend fun getConfirmation(confirmationId: String): Confirmation = native.getConfirmation(confirmationId)

    /** The 0.8.0 monitor view: the state and whether the approval is still usable (`authorityStatus`). */
    suspend fun getConfirmationStatus(confirmationId: String): ConfirmationMonitor =
        native.getConfirmationStatus(confirmationId)

    /** The 0.8.0 monitor view of an escalation: whether the member answered and whether an approval is still usable. */
    suspend fun getEscalationStatus(escalationId: String): EscalationMonitor = native.getEscalationStatus(escalationId)

    /**
     * Answers the level the escalation waits on ([resolution]: `approved` or `rejected`) as the member whose credential
     * (`allowly_mk_…`) this client was built with. Another member: [AllowlyException.PermissionDenied]
     * (`escalation_wrong_member`); already answered or expired: [AllowlyException.Conflict]. [resolvedBy] is the
     * official 0.8.0 field, checked by the server against the credential; the resolver is always the credential's member.
     */
    suspend fun resolveEscalation(
        escalationId: String,
        resolution: String,
        note: String? = null,
        resolvedBy: String? = null,
    ): EscalationResolved = native.resolveEscalation(escalationId, resolution, note, resolvedBy)

    suspend fun approveEscalation(escalationId: String, note: String? = null, resolvedBy: String? = null): EscalationResolved =
        resolveEscalation(escalationId, "approved", note, resolvedBy)

    suspend fun rejectEscalation(escalationId: String, note: String? = null, resolvedBy: String? = null): EscalationResolved =
        resolveEscalation(escalationId, "rejected", note, resolvedBy)

    /** Polls until no member is asked any more; [AllowlyException.Timeout] if still pending after [timeout]. */
    suspend fun waitForEscalation(
        escalationId: String,
        timeout: Duration = CoreDefaults.of("wait_timeout"),
        pollInterval: Duration = CoreDefaults.of("wait_poll_interval"),
    ): EscalationMonitor = native.waitForEscalation(escalationId, timeout.toJavaDuration(), pollInterval.toJavaDuration())

    /** `GET /readyz`: true when the server can decide now; a not-ready answer is `false`, not an exception. */
    suspend fun readiness(): Boolean = native.readiness()

    /**
     * Enrolls [agentId] (setup key): an Ed25519 key generated here, only its public half registered. Store the
     * credential's `credentialJson()` privately; pass the credential as `ClientOptions(agentCredential = …)`.
     */
    suspend fun enrollAgent(agentId: String): AgentCredential = native.enrollAgent(agentId)

    /**
     * Creates the next edition of [policyId] (a setup key's call). The definition (JSON text) is validated by
     * allowly-core first: an invalid one is [AllowlyException.Validation] naming its path, and is never sent.
     */
    suspend fun createPolicy(
        policyId: String,
        definitionJson: String,
        description: String? = null,
        previousPolicyRef: PolicyRef? = null,
        idempotencyKey: String? = null,
    ): Policy = native.createPolicy(policyId, definitionJson, description, previousPolicyRef, idempotencyKey)

    /** Publishes an edition and migrates the previous one's authorizations; a retry must reuse [idempotencyKey]. */
    suspend fun publishPolicy(
        policyId: String,
        definitionJson: String,
        idempotencyKey: String,
        description: String? = null,
        previousPolicyRef: PolicyRef? = null,
    ): PolicyPublication = native.publishPolicy(policyId, definitionJson, idempotencyKey, description, previousPolicyRef)

    /** The newest edition of [policyId]. */
    suspend fun getPolicy(policyId: String): Policy = native.getPolicy(policyId)

    suspend fun listPolicies(limit: UInt? = null, cursor: String? = null): PolicyPage = native.listPolicies(limit, cursor)

    suspend fun archivePolicy(policyId: String, idempotencyKey: String? = null) =
        native.archivePolicy(policyId, idempotencyKey)

    /** A provisional evaluation on the server, checked against the same evaluation made locally first. */
    suspend fun previewPolicy(definitionJson: String, action: String, contextJson: String = "{}"): PolicyPreview =
        native.previewPolicy(definitionJson, action, contextJson)

    /** Polls until the user answered; [AllowlyException.Timeout] if nobody did within [timeout]. */
    suspend fun waitForConfirmation(
        confirmationId: String,
        timeout: Duration = CoreDefaults.of("wait_timeout"),
        pollInterval: Duration = CoreDefaults.of("wait_poll_interval"),
    ): Confirmation = native.waitForConfirmation(confirmationId, timeout.toJavaDuration(), pollInterval.toJavaDuration())

    /**
     * Replaces an allowed budgeted check's estimate with [actualCostMicros] (the check's receipt id); settling the same
     * check twice is [AllowlyException.Conflict] (`already_settled`).
     */
    suspend fun settleBudget(checkReceiptId: String, actualCostMicros: Long): Settlement =
        native.settleBudget(checkReceiptId, actualCostMicros)

    /** Polls until the receipt is signed; the result's `json` is what [verifyReceiptJson] needs. */
    suspend fun fetchSigned(
        receiptId: String,
        timeout: Duration = CoreDefaults.of("fetch_signed_timeout"),
        pollInterval: Duration = CoreDefaults.of("fetch_signed_poll_interval"),
    ): SignedReceipt = native.fetchSigned(receiptId, pollInterval.toJavaDuration(), timeout.toJavaDuration())

    /** The workspace's key document, for [verifyReceiptJson]. */
    suspend fun workspaceKeys(workspaceId: String): KeySet = native.workspaceKeys(workspaceId)

    /**
     * The confirm flow in one call: check; for every `confirm` scope, [ask] the user and approve or reject; then, if
     * anyone was asked, check again and return that.
     */
    suspend fun checkWithConfirmation(request: CheckRequest, ask: suspend (ConfirmPrompt) -> Boolean): CheckResponse =
        native.checkWithConfirmation(
            request,
            object : ConfirmHandler {
                override suspend fun confirm(prompt: ConfirmPrompt): Boolean = ask(prompt)
            },
        )

    /** The setup key's calls; with a runtime key each throws `AllowlyException.PermissionDenied`. */
    val admin: Admin = Admin(native)

    override fun close() = native.close()

    override fun toString(): String = "Allowly(baseUrl=$baseUrl)"
}

/**
 * The admin client (setup key): API keys, the webhook endpoint, signing keys, the audit trail and the members who answer
 * escalations. Secrets shown once ([CreatedApiKey.key], [WebhookSecret.signingSecret], [CreatedMember.credential]) are
 * [SecretText]s: printed as `<redacted>`, read with `reveal()`.
 */
class Admin internal constructor(private val native: NativeClient) {
    suspend fun createApiKey(tier: String, name: String): CreatedApiKey = native.createApiKey(tier, name)

    suspend fun listApiKeys(): List<ApiKey> = native.listApiKeys()

    suspend fun revokeApiKey(id: String): ApiKeyRevocation = native.revokeApiKey(id)

    suspend fun setWebhook(url: String): WebhookSecret = native.setWebhook(url)

    suspend fun getWebhook(): WebhookEndpoint = native.getWebhook()

    suspend fun deleteWebhook() = native.deleteWebhook()

    suspend fun rotateSigningKey(): SigningKeyRotation = native.rotateSigningKey()

    /** One page, newest first; pass a page's `nextCursor` as [cursor] for the next. */
    suspend fun audit(query: AuditQuery = AuditQuery(), cursor: String? = null): AuditPage = native.audit(query, cursor)

    /** Every matching signed receipt, newest first, fetched a page (`query.limit`) at a time as it is collected. */
    fun auditReceipts(query: AuditQuery = AuditQuery()): kotlinx.coroutines.flow.Flow<SignedReceipt> {
        val pages = native.auditPages(query)
        return kotlinx.coroutines.flow.flow {
            while (true) {
                val page = pages.nextPage() ?: break
                page.receipts.forEach { emit(it) }
            }
        }
    }

    /** A member who answers escalations (`member:<memberId>`); its credential ([CreatedMember.credential]) is shown once. */
    suspend fun createMember(memberId: String, displayName: String? = null): CreatedMember =
        native.createMember(memberId, displayName)

    suspend fun listMembers(): List<Member> = native.listMembers()

    /** A new credential, shown once; the old one stops working at once. */
    suspend fun rotateMemberCredential(memberId: String): CreatedMember = native.rotateMemberCredential(memberId)

    suspend fun revokeMember(memberId: String): MemberRevocation = native.revokeMember(memberId)

    /** Every signed receipt issued in `[since, until)`, oldest first. */
    suspend fun exportReceipts(since: String? = null, until: String? = null): List<SignedReceipt> =
        native.exportReceipts(since, until)
}
