// `ClientOptions(agentTokenSupplier = …)`: a Kotlin object asked for the agent token before every check, against a
// real `allowly serve --dev` (the token is really sent: the server refuses it for another agent's authorization).
package ai.allowly

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows
import java.util.concurrent.atomic.AtomicInteger

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AgentTokenSupplierTest {
    private lateinit var server: DevServer

    @BeforeAll
    fun start() {
        server = DevServer.start()
    }

    @AfterAll
    fun stop() = server.close()

    private fun clientWith(supplier: AgentTokenSupplier) =
        Allowly(server.runtimeApiKey, ClientOptions(baseUrl = server.baseUrl, allowInsecureHttp = true, agentTokenSupplier = supplier))

    @Test
    fun `the supplier is asked before every check and its token is verified by the server`() = runBlocking {
        val credential = server.client(server.setupApiKey).use { it.enrollAgent("kt-supplier-agent") }
        val (mine, other) = server.client().use { c ->
            listOf("kt-supplier-agent", "kt-someone-else").map { agent ->
                c.createAuthorization(CreateAuthorizationRequest("u-kt", agent, listOf(ScopeGrant("s")))).authorizationId
            }
        }
        val calls = AtomicInteger()
        val supplier = object : AgentTokenSupplier {
            override fun agentToken(): String {
                calls.incrementAndGet()
                return credential.token()
            }
        }
        clientWith(supplier).use { c ->
            assertEquals(Decision.Allow("scope_granted"), c.check(CheckRequest(mine, listOf("s"))).decision("s"))
            val refused = assertThrows<AllowlyException.Authentication> { runBlocking { c.check(CheckRequest(other, listOf("s"))) } }
            assertEquals("agent_token_agent_mismatch", refused.code)
        }
        assertEquals(2, calls.get())
    }

    @Test
    fun `a supplier that throws fails the check without its message, and sources are exclusive`() = runBlocking {
        val auth = server.client().use {
            it.createAuthorization(CreateAuthorizationRequest("u-kt", "kt-agent-2", listOf(ScopeGrant("s")))).authorizationId
        }
        val sealed = object : AgentTokenSupplier {
            override fun agentToken(): String = throw IllegalStateException("vault sealed at secret-path/xyz")
        }
        clientWith(sealed).use { c ->
            val failed = assertThrows<AllowlyException.Config> { runBlocking { c.check(CheckRequest(auth, listOf("s"))) } }
            assertFalse(failed.toString().contains("secret-path"), failed.toString())
        }
        assertThrows<AllowlyException.Config> {
            Allowly(
                server.runtimeApiKey,
                ClientOptions(baseUrl = server.baseUrl, allowInsecureHttp = true, agentToken = "t", agentTokenSupplier = sealed),
            )
        }
        Unit
    }
}
