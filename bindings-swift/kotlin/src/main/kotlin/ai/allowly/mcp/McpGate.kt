// The Allowly gate in front of the tools of a server built on the official Java MCP SDK (io.modelcontextprotocol.sdk:mcp
// 2.2.0), on both protocol eras it serves: 2025-11-25 (`io.modelcontextprotocol.server`, elicitation pushed through the
// exchange) and 2026-07-28 (`io.modelcontextprotocol.modern.server`, input_required results with a sealed requestState).
//
// Every decision, text and result shape comes from allowly-mcp's step (NativeGate): this file only moves values between
// the SDK's types and the step's JSON, so a Kotlin server answers the same words as `allowly mcp proxy`, Python and Node.
package ai.allowly.mcp

import ai.allowly.Allowly
import ai.allowly.GateCall
import ai.allowly.GateOptions
import ai.allowly.GateStep
import ai.allowly.GateTransportAuth
import ai.allowly.NativeGate
import io.modelcontextprotocol.common.McpTransportContext
import io.modelcontextprotocol.json.McpJsonDefaults
import io.modelcontextprotocol.json.McpJsonMapper
import io.modelcontextprotocol.modern.McpException
import io.modelcontextprotocol.modern.server.McpRequestContext
import io.modelcontextprotocol.modern.server.McpSyncResponse
import io.modelcontextprotocol.modern.server.feature.McpSyncTool
import io.modelcontextprotocol.server.McpServerFeatures.SyncToolSpecification
import io.modelcontextprotocol.server.McpSyncServerExchange
import io.modelcontextprotocol.spec.McpError
import io.modelcontextprotocol.spec.McpSchema
import io.modelcontextprotocol.spec.ProtocolVersions
import kotlinx.coroutines.runBlocking
import io.modelcontextprotocol.modern.McpSchema as Modern

/**
 * Who is calling, from what the MCP server's transport authenticated (a validated token's subject, a session table):
 * the host's own code, awaited here, whose answer the gate takes as the transport's principal. It sees only the
 * transport's context, never the tool arguments the model wrote. `null` = nobody: the call is refused with
 * [noTrustedIdentityHelp].
 */
typealias IdentityLookup = suspend (McpTransportContext) -> String?

/** The text a call with no trusted identity is refused with (say who the caller is through [IdentityLookup]). */
val noTrustedIdentityHelp: String get() = ai.allowly.mcpNoTrustedIdentityHelp()

/**
 * Wraps tool handlers so that every call is checked against the caller's Allowly authorization before the tool runs.
 *
 * By default the caller is whoever [identity] names from the transport's context; with no lookup (a stdio server)
 * every call is refused with [noTrustedIdentityHelp], unless [options] say otherwise (`GateIdentity.Process` for a
 * single-user process, or the documented single-user opt-in `GateIdentity.FromArguments`). A tool argument such as
 * `user_id` never selects the authorization by default, because the model writes the arguments.
 */
class McpGate(
    allowly: Allowly,
    options: GateOptions,
    private val identity: IdentityLookup? = null,
    private val json: McpJsonMapper = McpJsonDefaults.getMapper(),
) : AutoCloseable {
    private val gate = NativeGate(allowly.native, options)

    /** The scope a tool is checked against. */
    fun scopeFor(toolName: String): String = gate.scopeFor(toolName)

    /** A 2025-11-25 tool (`McpServer.sync(…).tools(…)`) whose handler runs only when the gate says so. */
    fun guard(spec: SyncToolSpecification): SyncToolSpecification =
        SyncToolSpecification(spec.tool()) { exchange, request -> runBlocking { legacyCall(spec, exchange, request) } }

    /** A 2026-07-28 tool (`ToolsFeature.ofSync(…)`) whose handler runs only when the gate says so. */
    fun guard(tool: McpSyncTool): McpSyncTool {
        val handler = McpSyncTool.Handler { context, request -> runBlocking { modernCall(tool, context, request) } }
        return tool.requiredCapabilities()?.let { McpSyncTool.of(tool.definition(), it, handler) }
            ?: McpSyncTool.of(tool.definition(), handler)
    }

    private suspend fun legacyCall(
        spec: SyncToolSpecification,
        exchange: McpSyncServerExchange,
        request: McpSchema.CallToolRequest,
    ): McpSchema.CallToolResult {
        val call = GateCall(
            toolName = request.name(),
            argumentsJson = request.arguments()?.let(json::writeValueAsString),
            // The classic server speaks 2025-11-25 and earlier; the step picks the era from this version.
            protocolVersion = ProtocolVersions.MCP_2025_11_25,
            clientCapabilitiesJson = exchange.getClientCapabilities()?.let(json::writeValueAsString),
            auth = transportAuth(exchange.transportContext(), exchange.sessionId()),
            runId = exchange.sessionId(),
        )
        var step = gate.step(call)
        if (step is GateStep.Elicit) {
            val answer = try {
                val params = json.readValue(step.paramsJson, McpSchema.ElicitFormRequest::class.java)
                json.writeValueAsString(exchange.createElicitation(params))
            } catch (e: Exception) {
                null // the step answers a failed push
            }
            step = gate.answerElicitation(step.pending, answer)
        }
        return when (step) {
            is GateStep.Run -> withMeta(spec.callHandler().apply(exchange, request), step.metaJson)
            is GateStep.Refuse -> json.readValue(step.resultJson, McpSchema.CallToolResult::class.java)
            is GateStep.ProtocolError -> throw McpError(
                McpSchema.JSONRPCResponse.JSONRPCError(step.code, step.message, step.dataJson?.let(::readAny)),
            )
            is GateStep.Elicit, is GateStep.InputRequired -> error("allowly gate: a second question in one 2025-11-25 call")
        }
    }

    private suspend fun modernCall(
        tool: McpSyncTool,
        context: McpRequestContext,
        request: Modern.CallToolRequest,
    ): McpSyncResponse<Modern.CallToolOutcome> {
        val call = GateCall(
            toolName = request.name(),
            argumentsJson = request.arguments()?.let(json::writeValueAsString),
            protocolVersion = context.protocolVersion() ?: "",
            clientCapabilitiesJson = context.clientCapabilities()?.let(json::writeValueAsString),
            auth = transportAuth(context.transportContext(), null),
            requestState = request.requestState(),
            inputResponsesJson = request.inputResponses()?.let(json::writeValueAsString),
        )
        var step = gate.step(call)
        if (step is GateStep.Elicit) {
            // Only a server that negotiated an old version gets here, and this SDK cannot push on it: the step
            // answers a question that could not be asked.
            step = gate.answerElicitation(step.pending, null)
        }
        return when (step) {
            is GateStep.Run -> when (val response = tool.handler().call(context, request)) {
                is McpSyncResponse.Result<*> -> when (val result = response.result()) {
                    is Modern.CallToolResult -> McpSyncResponse.result(withMeta(result, step.metaJson))
                    else -> response
                }
                else -> response
            }
            is GateStep.Refuse -> McpSyncResponse.result(json.readValue(step.resultJson, Modern.CallToolResult::class.java))
            is GateStep.InputRequired ->
                McpSyncResponse.result(json.readValue(step.resultJson, Modern.InputRequiredResult::class.java))
            is GateStep.ProtocolError -> throw McpException(step.code, step.message, step.dataJson?.let(::readAny))
            is GateStep.Elicit -> error("allowly gate: a second question in one call")
        }
    }

    private suspend fun transportAuth(context: McpTransportContext?, sessionId: String?): GateTransportAuth {
        val principal = identity?.invoke(context ?: McpTransportContext.EMPTY)
        return GateTransportAuth(principal = principal, sessionId = sessionId)
    }

    private fun readAny(text: String): Any = json.readValue(text, Any::class.java)

    @Suppress("UNCHECKED_CAST")
    private fun metaOf(existing: Map<String, Any>?, metaJson: String): Map<String, Any> =
        (existing ?: emptyMap()) + (json.readValue(metaJson, Map::class.java) as Map<String, Any>)

    private fun withMeta(result: McpSchema.CallToolResult, metaJson: String) =
        McpSchema.CallToolResult(result.content(), result.isError(), result.structuredContent(), metaOf(result.meta(), metaJson))

    private fun withMeta(result: Modern.CallToolResult, metaJson: String) = Modern.CallToolResult(
        result.content(), result.structuredContent(), result.isError(), result.resultType(), metaOf(result.meta(), metaJson),
    )

    override fun close() = gate.close()

    override fun toString(): String = "McpGate(..)"
}
