// Escalations answered by named members through the Kotlin SDK against a real `allowly serve --dev`: members created,
// listed, rotated and removed through `Allowly.admin` (the credential a SecretText, printed redacted), and
// resolveEscalation / approveEscalation / rejectEscalation / waitForEscalation with a member's own credential.
package ai.allowly

import java.io.File
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EscalationsTest {
    private lateinit var server: DevServer
    private lateinit var setup: Allowly
    private lateinit var runtime: Allowly
    private var n = 0

    private fun name(prefix: String) = "$prefix-kt-${n++}"

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

    private suspend fun escalate(vararg targets: String): Pair<String, ScopeResult> {
        val auth = runtime.createAuthorization(
            CreateAuthorizationRequest(
                userId = name("u"), agentId = "bot", scopes = listOf(ScopeGrant("pay")),
                requiresEscalationFor = listOf("pay"), escalationTargets = mapOf("pay" to targets.toList()),
            ),
        )
        val result = runtime.check(auth.authorizationId, listOf("pay"), resource = "inv:1").results.getValue("pay")
        assertEquals(DecisionKind.ESCALATE to "scope_requires_escalation", result.decision to result.reason)
        return auth.authorizationId to result
    }

    @Test
    fun `members are created, listed, rotated and removed, the credential printed redacted`() = runBlocking {
        val memberId = name("alice")
        val created = setup.admin.createMember(memberId, "Alice")
        val credential = created.credential.reveal()
        assertTrue(credential.startsWith("allowly_mk_"))
        assertFalse(created.toString().contains(credential), created.toString())
        assertEquals(listOf("Alice"), setup.admin.listMembers().filter { it.memberId == memberId }.map { it.displayName })
        assertThrows<AllowlyException.Conflict> { runBlocking { setup.admin.createMember(memberId) } }
        val bad = assertThrows<AllowlyException.Validation> { runBlocking { setup.admin.createMember("has space") } }
        assertEquals("member_id", bad.fields[0].field)

        val rotated = setup.admin.rotateMemberCredential(memberId).credential.reveal()
        assertNotEquals(credential, rotated)
        val (_, result) = escalate("member:$memberId")
        server.client(credential).use { old ->
            assertThrows<AllowlyException.Authentication> { runBlocking { old.getEscalationStatus(result.escalationId!!) } }
        }
        server.client(rotated).use { assertEquals("member:$memberId", it.getEscalationStatus(result.escalationId!!).escalationTo) }
        assertEquals(memberId, setup.admin.revokeMember(memberId).memberId)
        server.client(rotated).use { gone ->
            assertThrows<AllowlyException.Authentication> { runBlocking { gone.approveEscalation(result.escalationId!!) } }
        }
        val tier = assertThrows<AllowlyException.PermissionDenied> { runBlocking { runtime.admin.listMembers() } }
        assertEquals("insufficient_key_tier", tier.code)
    }

    @Test
    fun `two levels are answered by their own members`() = runBlocking {
        val l1 = setup.admin.createMember(name("l1"))
        val l2 = setup.admin.createMember(name("l2"))
        val (_, result) = escalate("member:${l1.memberId}", "member:${l2.memberId}")
        val esc = result.escalationId!!
        assertEquals("member:${l1.memberId}", result.escalationTo)
        val apiKey = assertThrows<AllowlyException.PermissionDenied> { runBlocking { runtime.approveEscalation(esc) } }
        assertEquals("member_credential_required", apiKey.code)
        server.client(l1.credential.reveal()).use { first ->
            val mismatch = assertThrows<AllowlyException.PermissionDenied> {
                runBlocking { first.approveEscalation(esc, resolvedBy = "member:${l2.memberId}") }
            }
            assertEquals("resolved_by_mismatch", mismatch.code)
            val step = first.approveEscalation(esc, note = "fine", resolvedBy = "member:${l1.memberId}")
            assertEquals(
                listOf<Any?>("approved", 1u, 2u, "pending", "member:${l2.memberId}"),
                listOf(step.status, step.level, step.levels, step.escalationStatus, step.escalationTo),
            )
        }
        server.client(l2.credential.reveal()).use { second ->
            val done = second.resolveEscalation(esc, "approved")
            assertEquals("approved" to "approved", done.status to done.escalationStatus)
            val again = assertThrows<AllowlyException.Conflict> { runBlocking { second.rejectEscalation(esc) } }
            assertEquals("escalation_not_pending", again.code)
        }
        val monitor = runtime.waitForEscalation(esc, timeout = 30.seconds, pollInterval = 50.milliseconds)
        assertEquals(listOf("approved", "available"), listOf(monitor.status, monitor.authorityStatus))
        assertEquals(listOf("member:${l1.memberId}", "member:${l2.memberId}"), monitor.steps.map { it.resolvedBy })
    }

    @Test
    fun `a rejection denies the same call once, and a pending wait times out`() = runBlocking {
        val member = setup.admin.createMember(name("r"))
        val (authorizationId, result) = escalate("member:${member.memberId}")
        val rejected = server.client(member.credential.reveal()).use { it.rejectEscalation(result.escalationId!!, note = "no") }
        assertEquals("rejected", rejected.escalationStatus)
        val again = runtime.check(authorizationId, listOf("pay"), resource = "inv:1").results.getValue("pay")
        assertEquals(DecisionKind.DENY to "escalation_rejected", again.decision to again.reason)

        val (_, pending) = escalate("member:${member.memberId}")
        assertThrows<AllowlyException.Timeout> {
            runBlocking { runtime.waitForEscalation(pending.escalationId!!, timeout = 200.milliseconds, pollInterval = 50.milliseconds) }
        }
        val bad = assertThrows<AllowlyException.Validation> { runBlocking { runtime.resolveEscalation("esc_x", "maybe") } }
        assertEquals("resolution", bad.fields[0].field)
    }

    @Test
    fun `the README's Escalations example runs as shown`() = runBlocking {
        val (setupKey, apiKey) = server.setupApiKey to server.runtimeApiKey
        val options = ClientOptions(baseUrl = server.baseUrl, allowInsecureHttp = true)
        val out = mutableListOf<String>()
        fun println(line: Any?) {
            out += line.toString()
        }
        // README: begin
        val setup = Allowly(setupKey, options)
        val app = Allowly(apiKey, options)
        // Two approvers, each with a credential of their own (a SecretText: printed <redacted>, read with reveal()).
        val lead = setup.admin.createMember("team-lead-example", displayName = "Team lead")
        val cfo = setup.admin.createMember("cfo-example", displayName = "CFO")
        val auth = app.createAuthorization(
            CreateAuthorizationRequest(
                userId = "user-123", agentId = "billing-agent", scopes = listOf(ScopeGrant("payments.send")),
                requiresEscalationFor = listOf("payments.send"),
                escalationTargets = mapOf("payments.send" to listOf("member:team-lead-example", "member:cfo-example")),
            ),
        )
        val call = CheckRequest(auth.authorizationId, listOf("payments.send"), resource = "invoice:42")
        val asked = app.check(call).results.getValue("payments.send")
        println("${asked.decision} ${asked.reason} ${asked.escalationTo}") // ESCALATE scope_requires_escalation member:team-lead-example
        // Each member answers with their own credential; the server records who from it.
        for (member in listOf(lead, cfo)) {
            Allowly(member.credential.reveal(), options).use { approver ->
                val step = approver.approveEscalation(asked.escalationId!!, note = "checked the invoice")
                println("level ${step.level}/${step.levels}: ${step.status} → ${step.escalationStatus}")
            }
        }
        println(app.waitForEscalation(asked.escalationId!!, timeout = 30.seconds).status) // approved
        val allowed = app.check(call).results.getValue("payments.send")
        println("${allowed.decision} ${allowed.reason}") // ALLOW escalation_approved (once: the next call asks again)
        // README: end
        setup.close()
        app.close()
        assertEquals(
            listOf(
                "ESCALATE scope_requires_escalation member:team-lead-example",
                "level 1/2: approved → pending",
                "level 2/2: approved → approved",
                "approved",
                "ALLOW escalation_approved",
            ),
            out,
        )
        val source = File("src/test/kotlin/ai/allowly/EscalationsTest.kt").readLines()
        val shown = source.subList(source.indexOfFirst { it.trim() == "// README: begin" } + 1, source.indexOfFirst { it.trim() == "// README: end" })
            .joinToString("\n") { it.removePrefix("        ") }
        assertTrue(File("README.md").readText().contains(shown), "README.md's Escalations example differs from this test")
    }
}
