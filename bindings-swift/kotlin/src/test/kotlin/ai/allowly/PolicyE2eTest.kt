// Policy editions through the Kotlin layer against a real `allowly serve --dev` (the Python suite's
// test_policies_e2e.py, the Kotlin way): author with the setup key, preview (the server commits to the input the local
// evaluator does), publish on the previous edition, a stale publish refused, an edition grant deciding allow / confirm /
// not_approved / escalate, readiness, and the edition's wire-5 receipts verified offline.
package ai.allowly

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PolicyE2eTest {
    private lateinit var server: DevServer
    private lateinit var setup: Allowly
    private lateinit var allowly: Allowly

    private fun definition(expiryDays: Int = 30, op: String = "gte") = """
        {"profile": "allowly.policy.v1", "agent_id": "research_agent", "default_expiry_days": $expiryDays,
         "actions": [{"policy": {"profile": "allowly.basic.v1", "action": "web.search", "decision": "allow",
           "target": null, "fields": {"risk": "integer"},
           "rules": [{"id": "review-high-risk", "decision": "confirm", "target": "agent_owner",
                      "conditions": [{"field": "risk", "op": "$op", "value": 2}]},
                     {"id": "escalate-critical", "decision": "escalate", "target": "member:security",
                      "conditions": [{"field": "risk", "op": "gte", "value": 9}]}]},
           "guards": {}, "executable_operations": []}]}
    """.trimIndent()

    @BeforeAll
    fun start() {
        server = DevServer.start()
        setup = server.client(server.setupApiKey)
        allowly = server.client()
    }

    @AfterAll
    fun stop() {
        setup.close()
        allowly.close()
        server.close()
    }

    @Test
    fun `author, preview, publish on the previous edition, and a stale publish refused`() = runBlocking {
        val created = setup.createPolicy("research-agent-e2e", definition())
        assertEquals(1L, created.policyRef.policyVersion.toLong())
        assertEquals(policyDefinitionDigest(definition()), created.policyRef.definitionSha256)

        val preview = setup.previewPolicy(definition(), "web.search", """{"risk": 2}""")
        assertTrue(preview.provisional)
        assertEquals(DecisionKind.CONFIRM, preview.policyEval.result.decision)
        assertEquals("review-high-risk", preview.policyEval.result.matchedRuleId)
        val local = evaluatePolicy(definition(), "web.search", """{"risk": 2}""")
        assertEquals(local.inputSha256, preview.policyEval.inputSha256, "server and SDK commit to the same input")

        val retained = allowly.getPolicy("research-agent-e2e")
        val published = setup.publishPolicy(
            "research-agent-e2e", definition(expiryDays = 7), "publish-research-e2e-2",
            previousPolicyRef = retained.policyRef,
        )
        assertEquals(2L, published.policyRef.policyVersion.toLong())
        assertTrue(allowly.listPolicies(100u).items.any { it.policyRef.policyId == "research-agent-e2e" })

        // A stale predecessor is refused by the server, not silently overwritten.
        assertThrows<AllowlyException.Conflict> {
            runBlocking {
                setup.publishPolicy("research-agent-e2e", definition(), "publish-stale", previousPolicyRef = retained.policyRef)
            }
        }
        // An invalid definition never leaves the process: the error names its path.
        val e = assertThrows<AllowlyException.Validation> {
            runBlocking { setup.createPolicy("bad", definition(op = "neq")) }
        }
        assertEquals("actions[0].policy.rules[0].conditions[0].op", e.fields.single().field)
    }

    @Test
    fun `an edition grant takes its own confirmation timeout`() = runBlocking {
        val created = setup.createPolicy("research-agent-timeout", definition())
        fun grant(seconds: Long) = EditionAuthorizationRequest(
            "subject:timeout", "research-agent-timeout", created.policyRef.policyVersion.toLong(),
            confirmationTimeoutSeconds = seconds,
        )
        val bad = assertThrows<AllowlyException.Validation> { runBlocking { allowly.createAuthorizationFromPolicy(grant(0)) } }
        assertEquals("confirmation_timeout_seconds", bad.fields.single().field)
        val auth = allowly.createAuthorizationFromPolicy(grant(120))
        val confirm = allowly.check(auth.authorizationId, listOf("web.search"), contextJson = """{"risk": 3}""")
            .results.getValue("web.search")
        val monitor = allowly.getConfirmationStatus(requireNotNull(confirm.confirmationId))
        // The server's default is an hour; this grant's confirmations wait two minutes.
        val waits = java.time.Duration.between(java.time.Instant.now(), java.time.Instant.parse(monitor.expiresAt)).seconds
        assertTrue(waits in 60..121, "expires in $waits s")
    }

    @Test
    fun `an edition grant decides, and its wire-5 receipts verify offline`() = runBlocking {
        val created = setup.createPolicy("research-agent-grant", definition())
        val auth = allowly.createAuthorizationFromPolicy(
            EditionAuthorizationRequest("subject:e2e", "research-agent-grant", created.policyRef.policyVersion.toLong()),
        )
        assertEquals(listOf("web.search"), auth.actions)
        suspend fun decide(risk: Int) =
            allowly.check(auth.authorizationId, listOf("web.search"), contextJson = """{"risk": $risk}""")
                .results.getValue("web.search")

        val allow = decide(1)
        assertEquals(DecisionKind.ALLOW to "policy_allowed", allow.decision to allow.reason)
        val confirm = decide(3)
        assertEquals(DecisionKind.CONFIRM to "policy_requires_confirmation", confirm.decision to confirm.reason)
        val monitor = allowly.getConfirmationStatus(requireNotNull(confirm.confirmationId))
        assertEquals("pending" to "none", monitor.status to monitor.authorityStatus)
        val rejected = allowly.approve(requireNotNull(confirm.confirmNonce), approved = false)
        assertEquals("not_approved", rejected.decision)
        val escalate = decide(9)
        assertEquals(DecisionKind.ESCALATE, escalate.decision)
        assertEquals("member:security", escalate.escalationTo)
        assertTrue(requireNotNull(escalate.escalationId).startsWith("esc_"))
        assertTrue(allowly.readiness())

        val keys = allowly.workspaceKeys(server.workspaceId)
        for (result in listOf(allow, confirm, escalate)) {
            val signed = allowly.fetchSigned(requireNotNull(result.receipt).receiptId)
            val verified = verifyReceiptJson(signed.json, keys, VerifyOptions(expectedWorkspaceId = server.workspaceId))
            assertEquals("5", verified.schemaVersion)
            assertEquals(result.decision.name.lowercase(), verified.decision)
        }
    }
}
