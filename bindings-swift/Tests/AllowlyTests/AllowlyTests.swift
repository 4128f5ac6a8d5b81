// The Swift side of the suite: the shared conformance vectors, typed errors, redaction, and (when ALLOWLY_BIN points at
// an `allowly` binary) the seed lifecycle against `allowly serve --dev`. Mirrors bindings-swift/kotlin's JUnit tests.
// Runs with `swift test` on a machine with a Swift toolchain and the XCFramework built (scripts/build-xcframework.sh).
import Foundation
import XCTest

@testable import Allowly

private let repoRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
private let conformance = repoRoot.appendingPathComponent("tests/conformance")

private func readText(_ relative: String) throws -> String {
    try String(contentsOf: conformance.appendingPathComponent(relative), encoding: .utf8)
}

/// The kind each rejection must have, as in core/tests/receipt_conformance.rs and the other bindings.
private func expectedKind(_ name: String) -> VerificationErrorKind {
    if ["tampered_payload", "forged_signature", "key_id_swapped"].contains(name) { return .signatureMismatch }
    if name == "unknown_key_id" { return .unknownKey }
    if name == "future_version" { return .unsupportedVersion }
    if ["integer_out_of_safe_range", "context_lone_surrogate", "context_deep_nesting"].contains(name) {
        return .malformed
    }
    if name.hasPrefix("issued_at_") { return .timestamp }
    if ["key_not_yet_active", "key_retired_at_issued_at"].contains(name) { return .keyOutsideWindow }
    return .schema
}

final class ConformanceTests: XCTestCase {
    let options = VerifyOptions(
        expectedWorkspaceId: "ws_test", now: ISO8601DateFormatter().date(from: "2026-11-23T00:00:00Z"))

    func testEveryShouldVerifyVectorVerifies() throws {
        let vectors = JSONNode.parse(try readText("receipt-format-v4/test-vectors.json"))
        let keys = try loadKeysFromJson(json: vectors["public_keys"].raw)
        XCTAssertEqual(keys.workspaceId(), "ws_test")
        XCTAssertEqual(vectors["should_verify"].array!.count, 22)
        for v in vectors["should_verify"].array! {
            let receipt = v["receipt"]
            let ok = try verifyReceiptJson(json: receipt.raw, keys: keys, options: options)
            XCTAssertEqual(ok.receiptId, receipt["receipt_id"].string, v["name"].string!)
            XCTAssertEqual(ok.kind, v["kind"].string == "action" ? .action : .event)
            XCTAssertEqual(ok.decision, receipt["decision"].string)
        }
    }

    func testEveryShouldRejectVectorIsRejectedWithItsKind() throws {
        let vectors = JSONNode.parse(try readText("receipt-format-v4/test-vectors.json"))
        let keys = try loadKeysFromJson(json: vectors["public_keys"].raw)
        XCTAssertEqual(vectors["should_reject"].array!.count, 39)
        for v in vectors["should_reject"].array! {
            let name = v["name"].string!
            XCTAssertThrowsError(try verifyReceiptJson(json: v["receipt"].raw, keys: keys, options: options), name) {
                guard case AllowlyError.Verification(let kind, let code, let detail) = $0 else {
                    return XCTFail("\(name): \($0)")
                }
                XCTAssertEqual(kind, expectedKind(name), "\(name): \(detail)")
                XCTAssertEqual(code, kind.code)
                XCTAssertTrue(detail.contains(v["expected_reason"].string!), "\(name): \(detail)")
            }
        }
    }

    func testFromEmailVectors() throws {
        for v in JSONNode.parse(try readText("identifiers/email-hmac-v1.json")).array! {
            let email = v["email"].string!
            let pepper = v["pepper"].string!
            if let expected = v.object!["user_id"]?.string {
                XCTAssertEqual(try fromEmail(email: email, pepper: pepper), expected)
            } else {
                XCTAssertThrowsError(try fromEmail(email: email, pepper: pepper)) {
                    guard case AllowlyError.Validation(let code, let detail, _) = $0 else { return XCTFail("\($0)") }
                    XCTAssertEqual(code, "invalid_input")
                    XCTAssertTrue(detail.contains(v["error"].string!), detail)
                }
            }
        }
    }
}

final class ErrorTests: XCTestCase {
    /// A well-formed but unknown runtime key, built at run time so no key-shaped literal is committed.
    let unknownKey = "allowly_rt_" + String(repeating: "x", count: 40)

    func testEveryVerificationKindIsMapped() {
        let kinds: [VerificationErrorKind] = [
            .malformed, .schema, .unsupportedVersion, .timestamp, .unknownKey, .keyOutsideWindow, .untrustedKey,
            .workspaceMismatch, .signatureMismatch, .keyDocument, .checkpoint,
        ]
        XCTAssertEqual(kinds.map(\.code), coreVerificationErrorCodes())
    }

    func testConfigErrorsAndRedaction() throws {
        XCTAssertThrowsError(try Allowly(apiKey: unknownKey, options: ClientOptions(baseUrl: "http://127.0.0.1:1"))) {
            guard case AllowlyError.Config(_, let detail) = $0 else { return XCTFail("\($0)") }
            XCTAssertFalse(detail.contains(self.unknownKey))
        }
        let client = try Allowly(apiKey: unknownKey)
        XCTAssertFalse(client.description.contains(unknownKey))
        XCTAssertEqual(ConfirmNonce(value: "cn_secret").description, "ConfirmNonce(<redacted>)")
    }

    func testCheckFailsClosedWhenTheServerIsUnreachable() async throws {
        let client = try Allowly(
            apiKey: unknownKey,
            options: ClientOptions(
                baseUrl: "http://127.0.0.1:9", checkTimeout: 2, maxRetries: 0, allowInsecureHttp: true))
        let response = try await client.check(authorizationId: "auth_1", scopes: ["email.send"])
        guard case .deny(let reason, let isFallback)? = response.decision("email.send") else {
            return XCTFail("\(String(describing: response.decision("email.send")))")
        }
        XCTAssertTrue(isFallback)
        XCTAssertTrue(reason.hasPrefix("fallback_closed"))
    }
}

final class LifecycleTests: XCTestCase {
    func testSeedLifecycle() async throws {
        guard let bin = ProcessInfo.processInfo.environment["ALLOWLY_BIN"] else {
            throw XCTSkip("set ALLOWLY_BIN to an allowly binary to run the lifecycle against allowly serve --dev")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let ready = dir.appendingPathComponent("ready.json")
        let server = Process()
        server.executableURL = URL(fileURLWithPath: bin)
        server.arguments = [
            "serve", "--dev", "--db", "sqlite://\(dir.appendingPathComponent("test.db").path)",
            "--listen", "127.0.0.1:0", "--ready-file", ready.path,
        ]
        try server.run()
        defer { server.terminate() }
        let deadline = Date().addingTimeInterval(60)
        while (try? Data(contentsOf: ready))?.isEmpty ?? true {
            XCTAssertLessThan(Date(), deadline, "no ready file")
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        let info = JSONNode.parse(try String(contentsOf: ready, encoding: .utf8))
        let workspaceId = info["workspace_id"].string!
        let allowly = try Allowly(
            apiKey: info["runtime_api_key"].string!,
            options: ClientOptions(baseUrl: info["base_url"].string!, allowInsecureHttp: true))

        let authorization = try await allowly.createAuthorization(
            CreateAuthorizationRequest(
                userId: try fromEmail(email: "Alice@Example.com", pepper: "demo-pepper-for-tests-only"),
                agentId: "my-email-agent",
                scopes: [
                    ScopeGrant(name: "email.read"),
                    ScopeGrant(
                        name: "email.send",
                        constraints: ScopeConstraints(confirmPrompt: "Send this reply from your Gmail account?")),
                ],
                requiresConfirmFor: ["email.send"]))
        let first = try await allowly.check(authorizationId: authorization.authorizationId, scopes: ["email.send"])
        guard case .confirm(_, let nonce?, let confirmationId?, let hint)? = first.decision("email.send") else {
            return XCTFail("expected confirm")
        }
        XCTAssertEqual(hint, "Send this reply from your Gmail account?")
        XCTAssertFalse("\(first)".contains(nonce.reveal()))
        _ = try await allowly.approve(nonce)
        let resolved = try await allowly.waitForConfirmation(confirmationId, timeout: 10)
        XCTAssertEqual(resolved.status, "approved")
        let again = try await allowly.check(authorizationId: authorization.authorizationId, scopes: ["email.send"])
        guard case .allow? = again.decision("email.send") else { return XCTFail("expected allow after approval") }
        let receiptId = again.results["email.send"]!.receipt!.receiptId
        let signed = try await allowly.fetchSigned(receiptId, timeout: 20)
        let keys = try await allowly.workspaceKeys(workspaceId)
        let verified = try verifyReceiptJson(
            json: signed.json, keys: keys, options: VerifyOptions(expectedWorkspaceId: workspaceId))
        XCTAssertEqual(verified.receiptId, receiptId)
        _ = try await allowly.revokeAuthorization(authorization.authorizationId, revokedBy: "user")
        let revoked = try await allowly.check(authorizationId: authorization.authorizationId, scopes: ["email.read"])
        XCTAssertEqual(revoked.decision("email.read")?.reason, "authorization_revoked")
    }
}
