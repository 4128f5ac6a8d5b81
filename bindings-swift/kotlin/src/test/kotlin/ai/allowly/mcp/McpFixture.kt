// What both eras' gate tests share: the real `allowly serve --dev`, two users' authorizations, the tools (each appends
// its name to `ran` when its body runs), and gates over them.
package ai.allowly.mcp

import ai.allowly.Allowly
import ai.allowly.AuthorizationResolver
import ai.allowly.CreateAuthorizationRequest
import ai.allowly.DevServer
import ai.allowly.GateOptions
import ai.allowly.GateTransportAuth
import ai.allowly.IdentityProvider
import ai.allowly.ScopeGrant
import ai.allowly.fromEmail
import io.modelcontextprotocol.spec.McpSchema
import kotlinx.coroutines.runBlocking
import java.util.concurrent.CopyOnWriteArrayList

class McpFixture : AutoCloseable {
    private val server = DevServer.start()
    val allowly: Allowly = server.client()

    /** Every tool body that ran, in order: the side effect the tests count. */
    val ran: MutableList<String> = CopyOnWriteArrayList()

    /** alice may read notes and send email (each send confirmed by her); only mallory may delete everything. */
    private val authorizations: Map<String, String> = runBlocking {
        fun user(name: String) = fromEmail("$name@example.com", "demo-pepper-for-tests-only")
        val alice = allowly.createAuthorization(
            CreateAuthorizationRequest(
                userId = user("alice"), agentId = "notes-agent",
                scopes = listOf(ScopeGrant(READ), ScopeGrant(SEND)), requiresConfirmFor = listOf(SEND),
            ),
        )
        val mallory = allowly.createAuthorization(
            CreateAuthorizationRequest(userId = user("mallory"), agentId = "notes-agent", scopes = listOf(ScopeGrant(DELETE))),
        )
        mapOf("alice" to alice.authorizationId, "mallory" to mallory.authorizationId)
    }

    /** The gate as a multi-user server configures it: identities mapped to their authorizations. */
    fun gate(identity: IdentityLookup? = principalOfTransport): McpGate =
        McpGate(allowly, GateOptions(authorizations = authorizations), identity)

    /** The same through a server-side resolver (the walkthrough's `authorization_id_fn`), as the README shows it. */
    fun resolvingGate(identity: IdentityLookup? = principalOfTransport): McpGate = McpGate(
        allowly,
        GateOptions(
            authorizationResolver = object : AuthorizationResolver {
                override fun authorizationFor(identity: String): String? = authorizations[identity]
            },
        ),
        identity = identity,
    )

    /** A gate whose identity is a server-side sync callback over the transport's auth (here: any MCP session is
     * [user]'s), with no principal from the transport. */
    fun sessionGate(user: String): McpGate = McpGate(
        allowly,
        GateOptions(
            authorizations = authorizations,
            identityProvider = object : IdentityProvider {
                override fun identity(auth: GateTransportAuth): String? = auth.sessionId?.let { user }
            },
        ),
    )

    fun clear() = ran.clear()

    override fun close() {
        allowly.close()
        server.close()
    }

    companion object {
        const val READ = "read_notes"
        const val SEND = "send_email"
        const val DELETE = "delete_all"
        val TOOLS = listOf(READ, SEND, DELETE)

        /** A JSON schema taking any object (the tools ignore their arguments). */
        val ANY_OBJECT: Map<String, Any> = mapOf("type" to "object", "additionalProperties" to true)
    }
}

/** The `_meta` decision of a result, and its text. */
fun McpSchema.CallToolResult.decision(): Any? = meta()?.get("allowly.ai/decision")

fun McpSchema.CallToolResult.text(): String = content().filterIsInstance<McpSchema.TextContent>().joinToString { it.text() }
