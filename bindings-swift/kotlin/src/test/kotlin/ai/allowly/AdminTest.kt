// The admin client (`Allowly.admin`, a setup key's calls) against a real `allowly serve --dev`: API keys shown once and
// printed redacted, the webhook endpoint, signing-key rotation, audit pages and the Flow of receipts with filters, the
// export, and a runtime key refused with AllowlyException.PermissionDenied.
package ai.allowly

import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AdminTest {
    private lateinit var server: DevServer
    private lateinit var setup: Allowly
    private lateinit var runtime: Allowly

    @BeforeAll
    fun start() {
        server = DevServer.start()
        setup = server.client(server.setupApiKey)
        runtime = server.client()
    }

    @AfterAll
    fun stop() {
        setup.close()
        runtime.close()
        server.close()
    }

    @Test
    fun `API keys are shown once, redacted when printed, listed and revoked`() = runBlocking {
        val created = setup.admin.createApiKey("runtime", "kotlin ci")
        val key = created.key!!.reveal()
        assertTrue(key.startsWith("allowly_rt_") && key.startsWith(created.prefix))
        assertFalse(created.toString().contains(key), created.toString())
        server.client(key).use { it.createAuthorization(CreateAuthorizationRequest("u", "bot", listOf(ScopeGrant("a")))) }
        val mine = setup.admin.listApiKeys().filter { it.id == created.id }
        assertEquals(listOf("kotlin ci"), mine.map { it.name })
        assertNull(mine[0].revokedAt)
        assertEquals(created.id, setup.admin.revokeApiKey(created.id).id)
        val bad = assertThrows<AllowlyException.Validation> { runBlocking { setup.admin.createApiKey("root", "x") } }
        assertEquals("tier", bad.fields[0].field)
    }

    @Test
    fun `webhook endpoint and signing-key rotation`() = runBlocking {
        val hook = setup.admin.setWebhook("http://127.0.0.1:9/hook")
        assertTrue(hook.signingSecret.reveal().startsWith("whsec_"))
        assertFalse(hook.toString().contains(hook.signingSecret.reveal()))
        assertEquals(hook.url, setup.admin.getWebhook().url)
        setup.admin.deleteWebhook()
        assertThrows<AllowlyException.NotFound> { runBlocking { setup.admin.getWebhook() } }
        assertEquals(server.workspaceId, setup.admin.rotateSigningKey().workspaceId)
    }

    @Test
    fun `audit filters, pages, flows and exports`() = runBlocking {
        val auth = runtime.createAuthorization(CreateAuthorizationRequest("u-kt-audit", "bot-kt", listOf(ScopeGrant("mail.send"))))
        val ids = mutableListOf(auth.receipt!!.receiptId)
        for ((scope, run) in listOf("mail.send" to "r1", "files.delete" to "r1", "mail.send" to "r2")) {
            val result = runtime.check(CheckRequest(auth.authorizationId, listOf(scope), contextJson = """{"run_id": "$run"}"""))
            ids += result.results[scope]!!.receipt!!.receiptId
        }
        for (id in ids) runtime.fetchSigned(id)

        val sends = setup.admin.audit(AuditQuery(action = "mail.send", agentId = "bot-kt"))
        assertEquals(listOf(ids[3], ids[1]), sends.receipts.map { it.receiptId })
        assertNull(sends.nextCursor)
        val denied = setup.admin.audit(AuditQuery(runId = "r1", decision = "deny", userId = "u-kt-audit"))
        assertEquals(listOf(ids[2]), denied.receipts.map { it.receiptId })
        val walked = setup.admin.auditReceipts(AuditQuery(userId = "u-kt-audit", limit = 1u)).toList()
        assertEquals(ids.reversed(), walked.map { it.receiptId })
        assertThrows<AllowlyException.Validation> { setup.admin.auditReceipts(AuditQuery(limit = 0u)) }
        val exported = setup.admin.exportReceipts(since = "2000-01-01T00:00:00Z").filter { it.receiptId in ids }
        assertEquals(ids, exported.map { it.receiptId })
    }

    @Test
    fun `a runtime key is refused on admin calls`() {
        val calls: List<suspend () -> Unit> = listOf(
            { runtime.admin.listApiKeys() },
            { runtime.admin.rotateSigningKey() },
            { runtime.admin.audit() },
            { runtime.admin.exportReceipts() },
        )
        for (call in calls) {
            val e = assertThrows<AllowlyException.PermissionDenied> { runBlocking { call() } }
            assertEquals("insufficient_key_tier", e.code)
        }
    }
}
