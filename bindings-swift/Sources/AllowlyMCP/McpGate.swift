// The Allowly gate in front of the tools of a server built on the official Swift MCP SDK
// (github.com/modelcontextprotocol/swift-sdk), which speaks MCP 2025-11-25: a confirmation is pushed to the client as
// `elicitation/create` through `Server.elicit`.
//
// NOT COMPILED IN THIS REPOSITORY (no Swift toolchain here): written against the SDK's public API as read from its
// sources (`Server.withMethodHandler(CallTool.self)`, `Server.elicit(_:)`, `CallTool.Result`, `Elicit.Parameters`,
// `MCPError`). The behaviour itself is allowly-mcp's step (NativeGate), tested through Kotlin on the JVM: every
// decision, text and result shape comes from there, and this file only moves values between the SDK's Codable types
// and the step's JSON.
import Allowly
import Foundation
import MCP

/// Who is calling, from what the server authenticated (its session, a validated token's subject), awaited here and
/// handed to the gate as the transport's principal. It is given nothing of the request, so it cannot read the tool
/// arguments the model wrote. `nil` = nobody: the call is refused with `noTrustedIdentityHelp`.
public typealias IdentityLookup = @Sendable () async -> String?

/// The text a call with no trusted identity is refused with (say who the caller is through `IdentityLookup`).
public var noTrustedIdentityHelp: String { mcpNoTrustedIdentityHelp() }

/// Checks every tool call against the caller's Allowly authorization before the tool runs.
///
/// By default the caller is whoever `identity` names; with no lookup (a stdio server) every call is refused with
/// `noTrustedIdentityHelp`, unless `options` say otherwise (`GateIdentity.process` for a single-user process, or the
/// documented single-user opt-in `GateIdentity.fromArguments`). A `user_id` argument never selects the authorization
/// by default, because the model writes the arguments.
public final class McpGate: @unchecked Sendable {
    private let gate: NativeGate
    private let identity: IdentityLookup?

    public init(allowly: Allowly, options: GateOptions, identity: IdentityLookup? = nil) throws {
        gate = try NativeGate(client: allowly.native, options: options)
        self.identity = identity
    }

    /// Registers `handler` as the server's `tools/call` handler, behind the gate: it runs only when the gate says so.
    public func guardTools(
        of server: Server,
        _ handler: @escaping @Sendable (CallTool.Parameters) async throws -> CallTool.Result
    ) async {
        await server.withMethodHandler(CallTool.self) { [self] params in
            try await self.call(server: server, params: params, handler: handler)
        }
    }

    private func call(
        server: Server,
        params: CallTool.Parameters,
        handler: @Sendable (CallTool.Parameters) async throws -> CallTool.Result
    ) async throws -> CallTool.Result {
        let principal = await identity?()
        let call = GateCall(
            toolName: params.name,
            argumentsJson: try params.arguments.map(jsonText),
            // The negotiated version (this SDK speaks 2025-11-25 and earlier); the step picks the era from it.
            protocolVersion: await server.protocolVersion ?? "",
            clientCapabilitiesJson: try await server.clientCapabilities.map(jsonText),
            auth: GateTransportAuth(principal: principal, sessionId: nil, claimsJson: nil),
            runId: nil,
            requestState: nil,
            inputResponsesJson: nil
        )
        var step = try await gate.step(call: call)
        if case let .elicit(paramsJson, pending) = step {
            var answer: String? = nil
            if let request = try? decode(Elicit.Parameters.self, paramsJson),
               let result = try? await server.elicit(request)
            {
                answer = try? jsonText(result)
            }
            step = try await gate.answerElicitation(pending: pending, elicitResultJson: answer)
        }
        switch step {
        case let .run(_, metaJson):
            return try withMeta(try await handler(params), metaJson)
        case let .refuse(resultJson):
            return try decode(CallTool.Result.self, resultJson)
        case let .protocolError(code, message, _):
            // MCPError carries no data on a server error; -32602 has its own case.
            throw code == -32602 ? MCPError.invalidParams(message) : MCPError.serverError(code: Int(code), message: message)
        case .elicit, .inputRequired:
            throw MCPError.internalError("allowly gate: a second question in one 2025-11-25 call")
        }
    }

    /// The tool's own result with the gate's `_meta` keys added (decision, reason, receipt ids).
    private func withMeta(_ result: CallTool.Result, _ metaJson: String) throws -> CallTool.Result {
        guard var object = try JSONSerialization.jsonObject(with: Data(try jsonText(result).utf8)) as? [String: Any],
              let meta = try JSONSerialization.jsonObject(with: Data(metaJson.utf8)) as? [String: Any]
        else { return result }
        object["_meta"] = (object["_meta"] as? [String: Any] ?? [:]).merging(meta) { _, gate in gate }
        let data = try JSONSerialization.data(withJSONObject: object)
        return try JSONDecoder().decode(CallTool.Result.self, from: data)
    }
}

private func jsonText<T: Encodable>(_ value: T) throws -> String {
    String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
}

private func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
    try JSONDecoder().decode(type, from: Data(text.utf8))
}
