// The admin client of the Swift layer (a setup key's calls): API keys, members, the webhook endpoint, signing-key
// rotation, audit pages and the receipt export. Each method is one call into the native client, as in Kotlin's
// `Admin`; with a runtime key the server answers `AllowlyError.PermissionDenied` (`insufficient_key_tier`).
// Written against the generated signatures; not compiled here (no Swift toolchain on these machines).
import Foundation

/// Secrets in answers (`CreatedApiKey.key`, `WebhookSecret.signingSecret`, `CreatedMember.credential`) are
/// `SecretText` objects: printed redacted, read with `reveal()`, shown by the server this once.
public struct Admin: Sendable {
    let native: NativeClient

    public func createApiKey(tier: String, name: String) async throws -> CreatedApiKey {
        try await native.createApiKey(tier: tier, name: name)
    }

    public func listApiKeys() async throws -> [ApiKey] {
        try await native.listApiKeys()
    }

    public func revokeApiKey(_ id: String) async throws -> ApiKeyRevocation {
        try await native.revokeApiKey(id: id)
    }

    /// The endpoint must be a public `https` URL (the server's guard); answers its new signing secret, once.
    public func setWebhook(_ url: String) async throws -> WebhookSecret {
        try await native.setWebhook(url: url)
    }

    public func getWebhook() async throws -> WebhookEndpoint {
        try await native.getWebhook()
    }

    public func deleteWebhook() async throws {
        try await native.deleteWebhook()
    }

    public func rotateSigningKey() async throws -> SigningKeyRotation {
        try await native.rotateSigningKey()
    }

    /// A member who answers escalations (`member:<memberId>`); its credential is shown once.
    public func createMember(_ memberId: String, displayName: String? = nil) async throws -> CreatedMember {
        try await native.createMember(memberId: memberId, displayName: displayName)
    }

    public func listMembers() async throws -> [Member] {
        try await native.listMembers()
    }

    /// A new credential, shown once; the old one stops working at once.
    public func rotateMemberCredential(_ memberId: String) async throws -> CreatedMember {
        try await native.rotateMemberCredential(memberId: memberId)
    }

    public func revokeMember(_ memberId: String) async throws -> MemberRevocation {
        try await native.revokeMember(memberId: memberId)
    }

    /// One page, newest first; pass a page's `nextCursor` as `cursor` for the next.
    public func audit(_ query: AuditQuery = AuditQuery(), cursor: String? = nil) async throws -> AuditPage {
        try await native.audit(query: query, cursor: cursor)
    }

    /// Every matching signed receipt, newest first, fetched a page (`query.limit`) at a time as it is iterated.
    public func auditReceipts(_ query: AuditQuery = AuditQuery()) -> AsyncThrowingStream<SignedReceipt, Error> {
        let native = self.native
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let pages = try native.auditPages(query: query)
                    while let page = try await pages.nextPage() {
                        for receipt in page.receipts { continuation.yield(receipt) }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Every signed receipt issued in `[since, until)`, oldest first.
    public func exportReceipts(since: String? = nil, until: String? = nil) async throws -> [SignedReceipt] {
        try await native.exportReceipts(since: since, until: until)
    }
}
