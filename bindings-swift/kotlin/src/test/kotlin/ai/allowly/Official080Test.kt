// Capabilities of the official 0.8.0 SDK, the Kotlin way, against a real `allowly serve --dev`: `fetchKeysDoc` (the
// pin enforced by core; the document loads and verifies a receipt) and `getEscalationStatus` on the dev server's demo
// edition (`walkthrough`: `email.send` to more than 50 recipients escalates to `member:compliance`).
package ai.allowly

import java.net.URI
import java.security.MessageDigest
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class Official080Test {
    private lateinit var server: DevServer
    private lateinit var allowly: Allowly

    @BeforeAll
    fun start() {
        server = DevServer.start()
        allowly = server.client()
    }

    @AfterAll
    fun stop() {
        allowly.close()
        server.close()
    }

    private fun options(pin: String?) = FetchKeysDocOptions(
        baseUrl = server.baseUrl,
        expectedSha256 = pin,
        cacheTtl = java.time.Duration.ZERO,
        allowInsecureHttp = true,
    )

    @Test
    fun `fetchKeysDoc with the right pin loads and verifies a receipt`() = runBlocking {
        val bytes = URI("${server.baseUrl.trimEnd('/')}/v1/workspaces/${server.workspaceId}/keys").toURL().readBytes()
        val pin = MessageDigest.getInstance("SHA-256").digest(bytes).joinToString("") { "%02x".format(it) }
        val doc = fetchKeysDoc(server.workspaceId, options(pin.uppercase()))
        assertEquals(String(bytes, Charsets.UTF_8), doc, "the exact text the server sent")
        val keys = loadKeysFromJson(doc)

        val auth = allowly.createAuthorization(
            CreateAuthorizationRequest(userId = "u-keys-doc", agentId = "agent-keys", scopes = listOf(ScopeGrant("email.read"))),
        )
        val result = allowly.check(auth.authorizationId, listOf("email.read")).results.getValue("email.read")
        val signed = allowly.fetchSigned(requireNotNull(result.receipt).receiptId)
        val verified = verifyReceiptJson(signed.json, keys, VerifyOptions(expectedWorkspaceId = server.workspaceId))
        assertEquals(DecisionKind.ALLOW, result.decision)
        assertEquals(server.workspaceId, verified.workspaceId)
    }

    @Test
    fun `fetchKeysDoc refuses a pin mismatch and plain HTTP`() = runBlocking {
        val e = assertThrows<AllowlyException.Verification> {
            runBlocking { fetchKeysDoc(server.workspaceId, options("0".repeat(64))) }
        }
        assertEquals(VerificationErrorKind.KEY_DOCUMENT, e.kind)
        assertEquals("key_document", e.code)
        assertThrows<AllowlyException.Config> {
            runBlocking { fetchKeysDoc(server.workspaceId, FetchKeysDocOptions(baseUrl = server.baseUrl)) }
        }
        Unit
    }

    @Test
    fun `getEscalationStatus reads a pending escalation of an edition grant`() = runBlocking {
        val ready = server.policy
        val auth = allowly.createAuthorizationFromPolicy(
            EditionAuthorizationRequest(
                userId = "subject:escalation",
                policyId = ready["policy_id"].string,
                policyVersion = ready["policy_version"].raw.toLong(),
            ),
        )
        val result = allowly.check(auth.authorizationId, listOf("email.send"), contextJson = """{"recipient_count":80}""")
            .results.getValue("email.send")
        assertEquals(DecisionKind.ESCALATE, result.decision)
        assertEquals("member:compliance", result.escalationTo)
        val status = allowly.getEscalationStatus(requireNotNull(result.escalationId))
        assertEquals(result.escalationId, status.escalationId)
        assertEquals(auth.authorizationId, status.authorizationId)
        assertEquals("email.send", status.action)
        assertEquals("pending", status.status)
        assertEquals("none", status.authorityStatus)
        assertEquals("member:compliance", status.escalationTo)
        assertEquals(result.receipt?.receiptId, status.sourceReceiptId)
        assertNull(status.consumedAt)
        assertThrows<AllowlyException.NotFound> {
            runBlocking { allowly.getEscalationStatus("esc_" + "0".repeat(26)) }
        }
        Unit
    }
}
