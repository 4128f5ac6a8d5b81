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
import io.modelcontextprotocol.modern.server.McpAsyncResponse
import io.modelcontextprotocol.modern.server.feature.McpAsyncTool
import io.modelcontextprotocol.modern.server.feature.McpSyncTool
import io.modelcontextprotocol.server.McpServerFeatures.AsyncToolSpecification
import io.modelcontextprotocol.server.McpServerFeatures.SyncToolSpecification
import io.modelcontextprotocol.spec.McpError
import io.modelcontextprotocol.spec.McpSchema
import io.modelcontextprotocol.spec.ProtocolVersions
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.future.await
import kotlinx.coroutines.future.future
import kotlinx.coroutines.runBlocking
import reactor.core.publisher.Mono
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
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)

    /** The scope a tool is checked against. */
    fun scopeFor(toolName: String): String = gate.scopeFor(toolName)

    /** A 2025-11-25 tool (`McpServer.sync(…).tools(…)`) whose handler runs only when the gate says so. */
    fun guard(spec: SyncToolSpecification): SyncToolSpecification =
        SyncToolSpecification(spec.tool()) { exchange, request ->
            runBlocking {
                val capabilities = exchange.getClientCapabilities()
                val step = legacyStep(request, capabilities, exchange.transportContext(), exchange.sessionId()) {
                    exchange.createElicitation(it)
                }
                legacyResult(step) { spec.callHandler().apply(exchange, request) }
            }
        }

    /** A 2025-11-25 async tool (`McpServer.async(…).tools(…)`) whose handler runs only when the gate says so. */
    fun guard(spec: AsyncToolSpecification): AsyncToolSpecification =
        AsyncToolSpecification(spec.tool()) { exchange, request ->
            mono {
                val capabilities = exchange.getClientCapabilities()
                val step = legacyStep(request, capabilities, exchange.transportContext(), exchange.sessionId()) {
                    exchange.createElicitation(it).toFuture().await() ?: error("the client sent no answer")
                }
                legacyResult(step) {
                    spec.callHandler().apply(exchange, request).toFuture().await() ?: error("the tool answered nothing")
                }
            }
        }

    /** A 2026-07-28 tool (`ToolsFeature.ofSync(…)`) whose handler runs only when the gate says so. */
    fun guard(tool: McpSyncTool): McpSyncTool {
        val handler = McpSyncTool.Handler { context, request ->
            runBlocking {
                when (val step = modernStep(context, request)) {
                    is GateStep.Run -> when (val response = tool.handler().call(context, request)) {
                        is McpSyncResponse.Result<*> -> when (val result = response.result()) {
                            is Modern.CallToolResult -> McpSyncResponse.result(withMeta(result, step.metaJson))
                            else -> response
                        }
                        else -> response
                    }
                    else -> McpSyncResponse.result(modernAnswer(step))
                }
            }
        }
        return tool.requiredCapabilities()?.let { McpSyncTool.of(tool.definition(), it, handler) }
            ?: McpSyncTool.of(tool.definition(), handler)
    }

    /** A 2026-07-28 async tool (`ToolsFeature.ofAsync(…)`) whose handler runs only when the gate says so. */
    fun guard(tool: McpAsyncTool): McpAsyncTool {
        val handler = McpAsyncTool.Handler { context, request ->
            mono {
                when (val step = modernStep(context, request)) {
                    is GateStep.Run -> when (val response = tool.handler().call(context, request).toFuture().await()
                        ?: error("the tool answered nothing")) {
                        is McpAsyncResponse.Result<*> -> when (val result = response.result()) {
                            is Modern.CallToolResult -> McpAsyncResponse.result(withMeta(result, step.metaJson))
                            else -> response
                        }
                        else -> response
                    }
                    else -> McpAsyncResponse.result(modernAnswer(step))
                }
            }
        }
        return tool.requiredCapabilities()?.let { McpAsyncTool.of(tool.definition(), it, handler) }
            ?: McpAsyncTool.of(tool.definition(), handler)
    }

    /** The step of a 2025-11-25 call, a pushed question answered: Run, Refuse or ProtocolError. */
    private suspend fun legacyStep(
        request: McpSchema.CallToolRequest,
        capabilities: McpSchema.ClientCapabilities?,
        context: McpTransportContext?,
        sessionId: String?,
        elicit: suspend (McpSchema.ElicitFormRequest) -> McpSchema.ElicitResult,
    ): GateStep {
        val call = GateCall(
            toolName = request.name(),
            argumentsJson = request.arguments()?.let(json::writeValueAsString),
            // The classic server speaks 2025-11-25 and earlier; the step picks the era from this version.
            protocolVersion = ProtocolVersions.MCP_2025_11_25,
            clientCapabilitiesJson = capabilities?.let(json::writeValueAsString),
            auth = transportAuth(context, sessionId),
            runId = sessionId,
        )
        val step = gate.step(call)
        if (step !is GateStep.Elicit) return step
        val answer = try {
            json.writeValueAsString(elicit(json.readValue(step.paramsJson, McpSchema.ElicitFormRequest::class.java)))
        } catch (e: Exception) {
            null // the step answers a failed push
        }
        return gate.answerElicitation(step.pending, answer)
    }

    private suspend fun legacyResult(step: GateStep, run: suspend () -> McpSchema.CallToolResult): McpSchema.CallToolResult =
        when (step) {
            is GateStep.Run -> withMeta(run(), step.metaJson)
            is GateStep.Refuse -> json.readValue(step.resultJson, McpSchema.CallToolResult::class.java)
            is GateStep.ProtocolError -> throw McpError(
                McpSchema.JSONRPCResponse.JSONRPCError(step.code, step.message, step.dataJson?.let(::readAny)),
            )
            is GateStep.Elicit, is GateStep.InputRequired -> error("allowly gate: a second question in one 2025-11-25 call")
        }

    /** The step of a 2026-07-28 call (a first call or a retry): Run, Refuse, InputRequired or ProtocolError. */
    private suspend fun modernStep(context: McpRequestContext, request: Modern.CallToolRequest): GateStep {
        val call = GateCall(
            toolName = request.name(),
            argumentsJson = request.arguments()?.let(json::writeValueAsString),
            protocolVersion = context.protocolVersion() ?: "",
            clientCapabilitiesJson = context.clientCapabilities()?.let(json::writeValueAsString),
            auth = transportAuth(context.transportContext(), null),
            requestState = request.requestState(),
            inputResponsesJson = request.inputResponses()?.let(json::writeValueAsString),
        )
        val step = gate.step(call)
        // Only a server that negotiated an old version gets an Elicit here, and this SDK cannot push on it: the step
        // answers a question that could not be asked.
        return if (step is GateStep.Elicit) gate.answerElicitation(step.pending, null) else step
    }

    /** What a 2026-07-28 call answers instead of running the tool. */
    private fun modernAnswer(step: GateStep): Modern.CallToolOutcome = when (step) {
        is GateStep.Refuse -> json.readValue(step.resultJson, Modern.CallToolResult::class.java)
        is GateStep.InputRequired -> json.readValue(step.resultJson, Modern.InputRequiredResult::class.java)
        is GateStep.ProtocolError -> throw McpException(step.code, step.message, step.dataJson?.let(::readAny))
        is GateStep.Run, is GateStep.Elicit -> error("allowly gate: not an answer: $step")
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

    /** A Mono of [block], run on this gate's scope when subscribed. */
    private fun <T : Any> mono(block: suspend CoroutineScope.() -> T): Mono<T> = Mono.fromFuture { scope.future(block = block) }

    override fun close() {
        scope.cancel()
        gate.close()
    }

    override fun toString(): String = "McpGate(..)"
}
