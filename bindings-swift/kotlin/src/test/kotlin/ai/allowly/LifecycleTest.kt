// The seed lifecycle against a real `allowly serve --dev`: create → check → confirm → approve → re-check → fetch signed
// → verify → revoke, through the idiomatic layer (suspend functions, sealed Decision); plus the confirm helper and
// budget settlement.
package ai.allowly

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import kotlin.time.Duration.Companion.seconds

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LifecycleTest {
    private lateinit var server: DevServer
    private lateinit var allowly: Allowly
    private val pepper = "demo-pepper-for-tests-only"

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

    private suspend fun confirmingAuthorization(): Authorization = allowly.createAuthorization(
        CreateAuthorizationRequest(
            userId = fromEmail("Alice@Example.com", pepper),
            agentId = "my-email-agent",
            scopes = listOf(
                ScopeGrant("email.read"),
                ScopeGrant("email.send", ScopeConstraints(confirmPrompt = "Send this reply from your Gmail account?")),
            ),
            expiresAt = "2099-12-31T00:00:00Z",
            metadataJson = """{"source":"onboarding"}""",
            requiresConfirmFor = listOf("email.send"),
        ),
    )

    @Test
    fun `seed lifecycle`() = runBlocking {
        // Create.
        val userId = fromEmail("Alice@Example.com", pepper)
        assertTrue(Regex("^email_hmac:v1:[A-Za-z0-9_-]{43}$").matches(userId))
        val authorization = confirmingAuthorization()
        assertEquals(userId, authorization.userId)
        assertEquals(ReceiptStatus.PENDING, authorization.receipt?.status)
        assertEquals(listOf("email.read", "email.send"), authorization.scopes.map { it.name })

        // Check: email.read is allowed, email.send needs the user.
        val first = allowly.check(authorization.authorizationId, listOf("email.read", "email.send"), "gmail:thread:abc123")
        assertEquals(Decision.Allow("scope_granted"), first.decision("email.read"))
        val confirm = first.decision("email.send") as Decision.Confirm
        assertEquals("scope_requires_user_confirmation", confirm.reason)
        assertEquals("Send this reply from your Gmail account?", confirm.promptHint)
        val nonce = requireNotNull(confirm.nonce)
        assertFalse(first.toString().contains(nonce.reveal()), "a nonce leaked into toString")
        assertFalse(confirm.toString().contains(nonce.reveal()))

        // Approve, then the confirmation is resolved and the re-check allows.
        val resolution = allowly.approve(nonce, approved = true)
        assertEquals("approved", resolution.decision)
        val resolved = allowly.waitForConfirmation(requireNotNull(confirm.confirmationId), timeout = 10.seconds)
        assertEquals("approved", resolved.status)
        val again = allowly.check(authorization.authorizationId, listOf("email.send"), "gmail:thread:abc123")
        val allowed = again.decision("email.send")
        assertTrue(allowed is Decision.Allow, "re-check after approval: $allowed")

        // Fetch the signed receipt of that allow and verify it offline against the workspace's keys.
        val receiptId = requireNotNull(again.results["email.send"]?.receipt?.receiptId)
        val signed = allowly.fetchSigned(receiptId, timeout = 20.seconds)
        assertEquals(receiptId, signed.receiptId)
        val keys = allowly.workspaceKeys(server.workspaceId)
        val verified = verifyReceiptJson(signed.json, keys, VerifyOptions(expectedWorkspaceId = server.workspaceId))
        assertEquals(receiptId, verified.receiptId)
        assertEquals(ReceiptKind.ACTION, verified.kind)
        assertEquals("email.send", verified.name)
        assertEquals("allow", verified.decision)
        assertEquals(authorization.authorizationId, verified.authorizationId)
        val tampered = signed.json.replace("\"allow\"", "\"deny\"")
        val e = runCatching { verifyReceiptJson(tampered, keys, VerifyOptions()) }.exceptionOrNull()
        assertTrue(e is AllowlyException.Verification, "tampered receipt: $e")

        // Revoke: the next check is denied.
        val revocation = allowly.revokeAuthorization(authorization.authorizationId, revokedBy = "user", notes = "done")
        assertEquals(authorization.authorizationId, revocation.authorizationId)
        val afterRevoke = allowly.check(authorization.authorizationId, listOf("email.read")).decision("email.read")
        assertEquals(Decision.Deny("authorization_revoked"), afterRevoke)
        assertEquals(AuthorizationStatus.REVOKED, allowly.getAuthorization(authorization.authorizationId).status)
    }

    @Test
    fun `settleBudget replaces the estimate and a second settle is a conflict`() = runBlocking {
        val authorization = allowly.createAuthorization(
            CreateAuthorizationRequest(
                userId = fromEmail("Bob@Example.com", pepper),
                agentId = "my-llm-agent",
                scopes = listOf(ScopeGrant("llm.enrich")),
                expiresAt = "2099-12-31T00:00:00Z",
                budgetLimitMicros = 50_000,
            ),
        )
        val check = allowly.check(
            CheckRequest(authorization.authorizationId, listOf("llm.enrich"), estimatedCostMicros = 30_000),
        )
        assertTrue(check.decision("llm.enrich") is Decision.Allow, "budgeted check: ${check.decision("llm.enrich")}")
        val receiptId = requireNotNull(check.results["llm.enrich"]?.receipt?.receiptId)

        val settlement = allowly.settleBudget(receiptId, actualCostMicros = 10_000)
        assertEquals(receiptId, settlement.checkReceiptId)
        assertEquals(authorization.authorizationId, settlement.authorizationId)
        assertEquals(30_000L, settlement.estimatedCostMicros)
        assertEquals(10_000L, settlement.actualCostMicros)
        assertEquals(-20_000L, settlement.deltaMicros)
        assertEquals(10_000L, settlement.spentAfterMicros)
        assertTrue(settlement.receipt.receiptId.isNotEmpty())

        val again = runCatching { allowly.settleBudget(receiptId, actualCostMicros = 10_000) }.exceptionOrNull()
        assertTrue(again is AllowlyException.Conflict && again.code == "already_settled", "second settle: $again")
    }

    @Test
    fun `checkWithConfirmation asks once per confirm scope and returns the re-check`() = runBlocking {
        val authorization = confirmingAuthorization()
        val asked = mutableListOf<ConfirmPrompt>()
        val response = allowly.checkWithConfirmation(
            CheckRequest(authorization.authorizationId, listOf("email.read", "email.send"), resource = "gmail:thread:1"),
        ) { prompt ->
            asked += prompt
            true
        }
        assertEquals(listOf("email.send"), asked.map { it.scope })
        assertEquals("Send this reply from your Gmail account?", asked.single().promptHint)
        assertEquals("gmail:thread:1", asked.single().resource)
        assertTrue(response.decision("email.send") is Decision.Allow)

        val rejected = allowly.checkWithConfirmation(
            CheckRequest(authorization.authorizationId, listOf("email.send"), resource = "gmail:thread:2"),
        ) { false }
        assertTrue(rejected.decision("email.send") is Decision.Deny, "after a rejection: ${rejected.decision("email.send")}")
    }
}
