// The gate on MCP 2026-07-28: the Java SDK's modern McpServer (`io.modelcontextprotocol.modern`, tools wrapped by
// McpGate.guard) and its real modern client, in process, against the real Allowly server. A confirmation is an
// input_required result with a sealed requestState; the client answers by retrying the call.
package ai.allowly.mcp

import io.modelcontextprotocol.modern.McpException
import io.modelcontextprotocol.modern.McpSchema
import io.modelcontextprotocol.modern.client.McpClient
import io.modelcontextprotocol.modern.client.McpSyncClient
import io.modelcontextprotocol.modern.server.McpAsyncResponse
import io.modelcontextprotocol.modern.server.McpRequestContext
import io.modelcontextprotocol.modern.server.McpServer
import io.modelcontextprotocol.modern.server.McpSyncResponse
import io.modelcontextprotocol.modern.server.feature.McpAsyncTool
import io.modelcontextprotocol.modern.server.feature.McpAsyncToolRepository
import io.modelcontextprotocol.modern.server.feature.McpSyncTool
import io.modelcontextprotocol.modern.server.feature.McpSyncToolRepository
import io.modelcontextprotocol.modern.server.feature.ToolsFeature
import io.modelcontextprotocol.modern.server.feature.ToolsPage
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertInstanceOf
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import reactor.core.publisher.Mono
import java.util.concurrent.atomic.AtomicInteger

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ModernGateTest {
    private val fixture = McpFixture()
    private val open = mutableListOf<AutoCloseable>()
    private val asked = AtomicInteger()

    @BeforeEach
    fun reset() {
        fixture.clear()
        asked.set(0)
    }

    @AfterEach
    fun closeGates() {
        open.forEach { it.close() }
        open.clear()
    }

    @AfterAll
    fun stop() = fixture.close()

    private fun tool(name: String): McpSyncTool = McpSyncTool.of(McpSchema.Tool.builder(name, McpFixture.ANY_OBJECT).build()) { _, _ ->
        fixture.ran.add(name)
        McpSyncResponse.result(McpSchema.CallToolResult.builder().addContent(text("$name done")).build())
    }

    private fun text(text: String): McpSchema.Content = McpSchema.TextContent.builder(text).build()

    private fun asyncTool(name: String): McpAsyncTool = McpAsyncTool.of(McpSchema.Tool.builder(name, McpFixture.ANY_OBJECT).build()) { _, _ ->
        Mono.fromCallable {
            fixture.ran.add(name)
            McpAsyncResponse.result<McpSchema.CallToolOutcome>(McpSchema.CallToolResult.builder().addContent(text("$name done")).build())
        }
    }

    private fun server(gate: McpGate, async: Boolean = false): McpServer {
        if (async) {
            val tools = McpFixture.TOOLS.associateWith { gate.guard(asyncTool(it)) }
            val repository = object : McpAsyncToolRepository {
                override fun list(context: McpRequestContext, cursor: String?) =
                    Mono.just(ToolsPage.of(tools.values.map { it.definition() }))

                override fun find(context: McpRequestContext, name: String) = Mono.justOrEmpty(tools[name])
            }
            return McpServer.builder().serverInfo(McpSchema.Implementation.builder("notes", "1.0.0").build())
                .feature(ToolsFeature.ofAsync(repository)).build()
        }
        val tools = McpFixture.TOOLS.associateWith { gate.guard(tool(it)) }
        val repository = object : McpSyncToolRepository {
            override fun list(context: McpRequestContext, cursor: String?) = ToolsPage.of(tools.values.map { it.definition() })

            override fun find(context: McpRequestContext, name: String) = tools[name]
        }
        return McpServer.builder()
            .serverInfo(McpSchema.Implementation.builder("notes", "1.0.0").build())
            .feature(ToolsFeature.ofSync(repository))
            .build()
    }

    /** A client on a transport that authenticated [principal]; it answers confirmations with [answer] (`null`: it
     * declares no elicitation). */
    private fun client(
        principal: String?,
        answer: McpSchema.ElicitResult? = null,
        gate: McpGate = fixture.gate(),
        async: Boolean = false,
    ): McpSyncClient {
        open += gate
        var builder = McpClient.sync(modernPipe(server(gate, async), principal))
            .clientInfo(McpSchema.Implementation.builder("test-client", "1.0.0").build())
        if (answer != null) {
            builder = builder.formElicitation { _ ->
                asked.incrementAndGet()
                answer
            }
        }
        return builder.build()
    }

    private fun McpSyncClient.call(name: String, arguments: Map<String, Any> = emptyMap()) =
        tool(name).arguments(arguments).call()

    private fun McpSchema.CallToolResult.decision(): Any? = meta()?.get("allowly.ai/decision")

    private fun McpSchema.CallToolResult.text(): String =
        content().filterIsInstance<McpSchema.TextContent>().joinToString { it.text() }

    private fun code(call: () -> Unit): Int = assertThrows(McpException::class.java) { call() }.error().code()

    @Test
    fun `a granted tool runs`() {
        val result = client("alice").call(McpFixture.READ)
        assertNotEquals(true, result.isError())
        assertEquals("allow", result.decision())
        assertEquals(listOf(McpFixture.READ), fixture.ran)
    }

    @Test
    fun `an ungranted tool is refused and its body never runs`() {
        val result = client("alice").call(McpFixture.DELETE)
        assertEquals(true, result.isError())
        assertEquals("deny", result.decision())
        assertEquals(emptyList<String>(), fixture.ran)
    }

    @Test
    fun `a user_id argument never selects whose authorization is used`() {
        assertEquals(true, client("alice").call(McpFixture.DELETE, mapOf("user_id" to "mallory")).isError())
        assertEquals(emptyList<String>(), fixture.ran)
        assertNotEquals(true, client("mallory").call(McpFixture.DELETE, mapOf("user_id" to "alice")).isError())
        assertEquals(listOf(McpFixture.DELETE), fixture.ran)
    }

    @Test
    fun `a confirmation is one input request and the accepted retry runs the tool once`() {
        val result = client("alice", McpSchema.ElicitResult.accept(emptyMap())).call(McpFixture.SEND, mapOf("to" to "bob"))
        assertNotEquals(true, result.isError(), result.text())
        assertEquals(1, asked.get())
        assertEquals(listOf(McpFixture.SEND), fixture.ran)
    }

    @Test
    fun `a declined retry never runs the tool`() {
        val result = client("alice", McpSchema.ElicitResult.decline()).call(McpFixture.SEND, mapOf("to" to "bob"))
        assertEquals(true, result.isError())
        assertEquals("deny", result.decision())
        assertEquals(1, asked.get())
        assertEquals(emptyList<String>(), fixture.ran)
    }

    @Test
    fun `a client that declared no elicitation gets -32021 and is never asked`() {
        val client = client("alice", answer = null)
        assertEquals(-32021, code { client.call(McpFixture.SEND, mapOf("to" to "bob")) })
        assertEquals(emptyList<String>(), fixture.ran)
    }

    @Test
    fun `tampered, moved and replayed request states are refused with -32602`() {
        val client = client("alice", McpSchema.ElicitResult.accept(emptyMap()))
        val arguments = mapOf<String, Any>("to" to "bob")
        val first = client.tool(McpFixture.SEND).arguments(arguments).callOnce()
        val required = assertInstanceOf(McpSchema.InputRequiredResult::class.java, first)
        assertEquals(1, required.inputRequests().size)
        val accepted = required.inputRequests().keys.associateWith { mapOf("action" to "accept", "content" to emptyMap<String, Any>()) }
        val state = required.requestState()
        fun retry(state: String, arguments: Map<String, Any>) =
            client.tool(McpFixture.SEND).arguments(arguments).inputResponses(accepted).requestState(state).callOnce()

        val flipped = state.substring(0, state.length / 2) + (if (state[state.length / 2] == 'A') 'B' else 'A') +
            state.substring(state.length / 2 + 1)
        assertEquals(-32602, code { retry(flipped, arguments) })
        assertEquals(-32602, code { retry(state, mapOf("to" to "mallory")) })
        assertEquals(emptyList<String>(), fixture.ran)

        val ran = assertInstanceOf(McpSchema.CallToolResult::class.java, retry(state, arguments))
        assertNotEquals(true, ran.isError(), ran.text())
        assertEquals(listOf(McpFixture.SEND), fixture.ran)
        assertEquals(-32602, code { retry(state, arguments) })
        assertEquals(listOf(McpFixture.SEND), fixture.ran)
    }

    @Test
    fun `async tools are gated the same way`() {
        assertNotEquals(true, client("alice", async = true).call(McpFixture.READ).isError())
        assertEquals(true, client("alice", async = true).call(McpFixture.DELETE, mapOf("user_id" to "mallory")).isError())
        val accepted = client("alice", McpSchema.ElicitResult.accept(emptyMap()), async = true)
        assertNotEquals(true, accepted.call(McpFixture.SEND, mapOf("to" to "bob")).isError())
        val declined = client("alice", McpSchema.ElicitResult.decline(), async = true)
        assertEquals(true, declined.call(McpFixture.SEND, mapOf("to" to "carol")).isError())
        assertEquals(-32021, code { client("alice", async = true).call(McpFixture.SEND, mapOf("to" to "dave")) })
        assertEquals(2, asked.get())
        assertEquals(listOf(McpFixture.READ, McpFixture.SEND), fixture.ran)
    }

    @Test
    fun `no identity source refuses with the trusted-identity help`() {
        val result = client(null, gate = fixture.gate(identity = null)).call(McpFixture.READ, mapOf("user_id" to "alice"))
        assertEquals(true, result.isError())
        assertEquals(noTrustedIdentityHelp, result.text())
        assertEquals(emptyList<String>(), fixture.ran)
    }
}
