// The gate on MCP 2025-11-25: the Java SDK's classic McpServer (tools wrapped by McpGate.guard) and its real McpClient,
// in process, against the real Allowly server. Elicitation is pushed through the SDK's exchange.
package ai.allowly.mcp

import io.modelcontextprotocol.client.McpClient
import io.modelcontextprotocol.client.McpSyncClient
import io.modelcontextprotocol.server.McpServer
import io.modelcontextprotocol.server.McpServerFeatures.AsyncToolSpecification
import io.modelcontextprotocol.server.McpServerFeatures.SyncToolSpecification
import io.modelcontextprotocol.spec.McpSchema
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import reactor.core.publisher.Mono
import java.util.concurrent.atomic.AtomicInteger

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LegacyGateTest {
    private val fixture = McpFixture()
    private val open = mutableListOf<AutoCloseable>()

    /** How often the client was asked to confirm. */
    private val asked = AtomicInteger()

    @BeforeEach
    fun reset() {
        fixture.clear()
        asked.set(0)
    }

    @AfterEach
    fun closeSessions() {
        open.reversed().forEach { it.close() }
        open.clear()
    }

    @AfterAll
    fun stop() = fixture.close()

    private fun asyncTool(name: String) = AsyncToolSpecification(
        McpSchema.Tool.builder().name(name).inputSchema(McpFixture.ANY_OBJECT).build(),
    ) { _, _ ->
        Mono.fromCallable {
            fixture.ran.add(name)
            McpSchema.CallToolResult.builder().addTextContent("$name done").isError(false).build()
        }
    }

    private fun tool(name: String) = SyncToolSpecification(
        McpSchema.Tool.builder().name(name).inputSchema(McpFixture.ANY_OBJECT).build(),
    ) { _, _ ->
        fixture.ran.add(name)
        McpSchema.CallToolResult.builder().addTextContent("$name done").isError(false).build()
    }

    /**
     * A session: the server's tools behind [gate], a client on a transport that authenticated [principal], answering
     * a confirmation with [answer] (`null` = a client without the elicitation capability).
     */
    private fun session(
        principal: String?,
        answer: McpSchema.ElicitResult.Action? = null,
        gate: McpGate = fixture.gate(),
        async: Boolean = false,
    ): McpSyncClient {
        val pipe = LegacyPipe(principal)
        val capabilities = McpSchema.ServerCapabilities.builder().tools(false).build()
        val server: AutoCloseable = if (async) {
            val built = McpServer.async(pipe).serverInfo("notes", "1.0.0").capabilities(capabilities)
                .tools(McpFixture.TOOLS.map { gate.guard(asyncTool(it)) }).build()
            AutoCloseable { built.close() }
        } else {
            val built = McpServer.sync(pipe).serverInfo("notes", "1.0.0").capabilities(capabilities)
                .tools(McpFixture.TOOLS.map { gate.guard(tool(it)) }).build()
            AutoCloseable { built.close() }
        }
        var spec = McpClient.sync(pipe.client).clientInfo(McpSchema.Implementation("test-client", "1.0.0"))
        if (answer != null) {
            spec = spec.capabilities(McpSchema.ClientCapabilities.builder().elicitation(true, false).build()).elicitation { _ ->
                asked.incrementAndGet()
                McpSchema.ElicitResult(answer, if (answer == McpSchema.ElicitResult.Action.ACCEPT) emptyMap() else null)
            }
        }
        val client = spec.build()
        open += listOf(server, gate, client)
        client.initialize()
        return client
    }

    private fun McpSyncClient.call(tool: String, arguments: Map<String, Any> = emptyMap()) =
        callTool(McpSchema.CallToolRequest(tool, arguments))

    @Test
    fun `a granted tool runs and its result carries the decision`() {
        val result = session("alice").call(McpFixture.READ)
        assertNotEquals(true, result.isError())
        assertEquals("read_notes done", result.text())
        assertEquals("allow", result.decision())
        assertEquals(listOf(McpFixture.READ), fixture.ran)
    }

    @Test
    fun `an ungranted tool is refused and its body never runs`() {
        val result = session("alice").call(McpFixture.DELETE)
        assertEquals(true, result.isError())
        assertEquals("deny", result.decision())
        assertEquals(emptyList<String>(), fixture.ran)
    }

    @Test
    fun `a user_id argument never selects whose authorization is used`() {
        val result = session("alice").call(McpFixture.DELETE, mapOf("user_id" to "mallory"))
        assertEquals(true, result.isError())
        assertEquals(emptyList<String>(), fixture.ran)
        // The same call from mallory's own authenticated session runs: the refusal was alice's authorization.
        assertNotEquals(true, session("mallory").call(McpFixture.DELETE, mapOf("user_id" to "alice")).isError())
        assertEquals(listOf(McpFixture.DELETE), fixture.ran)
    }

    @Test
    fun `an accepted confirmation runs the tool exactly once`() {
        val result = session("alice", McpSchema.ElicitResult.Action.ACCEPT).call(McpFixture.SEND, mapOf("to" to "bob"))
        assertNotEquals(true, result.isError(), result.text())
        assertEquals(1, asked.get())
        assertEquals(listOf(McpFixture.SEND), fixture.ran)
    }

    @Test
    fun `a declined confirmation never runs the tool`() {
        val result = session("alice", McpSchema.ElicitResult.Action.DECLINE).call(McpFixture.SEND, mapOf("to" to "bob"))
        assertEquals(true, result.isError())
        assertEquals("deny", result.decision())
        assertEquals(1, asked.get())
        assertEquals(emptyList<String>(), fixture.ran)
    }

    @Test
    fun `a client without elicitation gets an isError result naming the confirmation`() {
        val result = session("alice", answer = null).call(McpFixture.SEND, mapOf("to" to "bob"))
        assertEquals(true, result.isError())
        assertEquals("confirm", result.decision())
        assertTrue(Regex("\\(confirmation [A-Za-z0-9_-]+\\)").containsMatchIn(result.text()), result.text())
        assertEquals(0, asked.get())
        assertEquals(emptyList<String>(), fixture.ran)
    }

    @Test
    fun `async tools are gated the same way`() {
        assertNotEquals(true, session("alice", async = true).call(McpFixture.READ).isError())
        assertEquals(true, session("alice", async = true).call(McpFixture.DELETE, mapOf("user_id" to "mallory")).isError())
        val accepted = session("alice", McpSchema.ElicitResult.Action.ACCEPT, async = true)
        assertNotEquals(true, accepted.call(McpFixture.SEND, mapOf("to" to "bob")).isError())
        val declined = session("alice", McpSchema.ElicitResult.Action.DECLINE, async = true)
        assertEquals(true, declined.call(McpFixture.SEND, mapOf("to" to "carol")).isError())
        assertEquals(2, asked.get())
        assertEquals(listOf(McpFixture.READ, McpFixture.SEND), fixture.ran)
    }

    @Test
    fun `a server-side authorization resolver is asked with the transport's principal`() {
        val result = session("alice", gate = fixture.resolvingGate()).call(McpFixture.READ)
        assertNotEquals(true, result.isError(), result.text())
        assertEquals(listOf(McpFixture.READ), fixture.ran)
        assertEquals(true, session("alice", gate = fixture.resolvingGate()).call(McpFixture.DELETE).isError())
        assertEquals(listOf(McpFixture.READ), fixture.ran)
    }

    @Test
    fun `an identity provider maps the transport's session to the caller`() {
        val client = session(null, gate = fixture.sessionGate("alice"))
        assertNotEquals(true, client.call(McpFixture.READ, mapOf("user_id" to "mallory")).isError())
        assertEquals(true, client.call(McpFixture.DELETE, mapOf("user_id" to "mallory")).isError())
        assertEquals(listOf(McpFixture.READ), fixture.ran)
    }

    @Test
    fun `a stdio-like server with no identity source refuses with the trusted-identity help`() {
        // The walkthrough's step 4 in Kotlin: an authorization function of the user, no identity lookup and an
        // unauthenticated transport. Naming a user in the arguments changes nothing.
        val gate = fixture.resolvingGate(identity = null)
        val result = session(null, gate = gate).call(McpFixture.READ, mapOf("user_id" to "alice"))
        assertEquals(true, result.isError())
        assertEquals(noTrustedIdentityHelp, result.text())
        assertEquals(emptyList<String>(), fixture.ran)
    }
}
