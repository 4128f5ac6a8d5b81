// Policy editions in Kotlin: the shared conformance data (tests/conformance/policy-profile-v1, also read by core,
// Python and Node) through the profile functions, and the client's policy, edition-grant, monitor and readiness calls
// against a local recording HTTP server (our `allowly serve` does not answer these routes yet; the end-to-end run
// against it is a separate suite).
package ai.allowly

import com.sun.net.httpserver.HttpServer
import java.io.File
import java.net.InetSocketAddress
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

// `plain` (ScenariosTest.kt) turns JSON nodes into plain values, so two texts of one value compare equal.

class PolicyTest {
    private val root = File(System.getProperty("allowly.conformance.dir") ?: "../../tests/conformance")
    private fun load(name: String) = JsonNode.parse(File(root, "policy-profile-v1/$name").readText())

    private val official: Map<String, String> =
        load("official-policy-profile-v1.json")["signature_cases"].list.associate { it["name"].string to it["definition"].raw }

    @Test
    fun `every official case evaluates to its signed result`() {
        val cases = load("cases.json").list
        assertEquals(53, cases.size)
        var recovered = 0
        for (c in cases) {
            val name = c["name"].string
            val definition = official.getValue(name)
            assertEquals(plain(JsonNode.parse(definition)), plain(JsonNode.parse(validatePolicyDefinition(definition))), name)
            assertEquals(c["expected_definition_sha256"].string, policyDefinitionDigest(definition), name)
            val action = c["action"].string
            val eval = evaluatePolicy(definition, action, c["context"].raw)
            val expected = c["expected"]
            assertEquals(expected["decision"].string, eval.result.decision.name.lowercase(), name)
            assertEquals(expected["target"].value, eval.result.target, name)
            assertEquals(expected["matched_rule_id"].value, eval.result.matchedRuleId, name)
            assertEquals(plain(expected["evaluated_fields"]), plain(JsonNode.parse(eval.result.evaluatedFieldsJson)), name)
            assertEquals(eval.inputSha256, policyInputDigest(definition, action, c["context"].raw), name)
            if (c["input"].string == "recovered") {
                recovered++
                assertEquals(c["expected_input_sha256"].string, eval.inputSha256, name)
            }
        }
        assertEquals(13, recovered)
    }

    @Test
    fun `every invalid definition is refused at its path`() {
        for (c in load("invalid-definitions.json").list) {
            val name = c["name"].string
            // The surrogate case is JSON text with a lone `\ud800` escape; core's parser refuses it as is.
            val text = if (c.has("definition")) c["definition"].raw else c["definition_json"].string
            val e = assertThrows<AllowlyException.Validation>(name) { validatePolicyDefinition(text) }
            val path = c["expected_path"].value as String?
            if (path != null) assertEquals(path, e.fields.single().field, "$name: ${e.detail}")
        }
    }

    @Test
    fun `valid variants are accepted and the engine names itself`() {
        for (c in load("valid-definitions.json").list) {
            assertEquals(64, policyDefinitionDigest(c["definition"].raw).length, c["name"].string)
        }
        assertTrue(Regex("sha256:[0-9a-f]{64}").matches(policyEngineVersion()))
    }

    private val definition = """{"profile":"allowly.policy.v1","agent_id":"research_agent","default_expiry_days":30,
        "actions":[{"policy":{"profile":"allowly.basic.v1","action":"web.search","decision":"allow","target":null,
        "fields":{"risk":"integer"},"rules":[{"id":"review-high-risk","decision":"confirm","target":"agent_owner",
        "conditions":[{"field":"risk","op":"gte","value":2}]}]},"guards":{},"executable_operations":[]}]}"""

    private fun ref(version: Int) =
        """{"policy_id":"research_agent","policy_version":$version,"definition_sha256":"${policyDefinitionDigest(definition)}"}"""

    /** A server answering `routes["METHOD /path?query"]` with (status, body) and recording each request line and body. */
    private fun <T> withServer(routes: Map<String, Pair<Int, String>>, block: suspend (Allowly, List<String>) -> T): T {
        val seen = java.util.Collections.synchronizedList(ArrayList<String>())
        val server = HttpServer.create(InetSocketAddress("127.0.0.1", 0), 0)
        server.createContext("/") { exchange ->
            val key = "${exchange.requestMethod} ${exchange.requestURI}"
            val body = exchange.requestBody.readBytes().decodeToString()
            seen.add("$key ${exchange.requestHeaders.getFirst("Idempotency-Key") ?: "-"} $body")
            val (status, answer) = routes[key] ?: (404 to """{"error":{"code":"not_found","message":"no route"}}""")
            val bytes = answer.encodeToByteArray()
            exchange.responseHeaders.add("Content-Type", "application/json")
            exchange.sendResponseHeaders(status, if (status == 204) -1 else bytes.size.toLong())
            if (status != 204) exchange.responseBody.use { it.write(bytes) } else exchange.close()
        }
        server.start()
        try {
            val options = ClientOptions(baseUrl = "http://127.0.0.1:${server.address.port}", allowInsecureHttp = true)
            return Allowly("allowly_rt_" + "0".repeat(32), options).use { runBlocking { block(it, seen) } }
        } finally {
            server.stop(0)
        }
    }

    @Test
    fun `policies create, preview, publish and archive`() {
        val eval = evaluatePolicy(definition, "web.search", """{"risk":2}""")
        val policy = """{"policy_ref":${ref(1)},"definition":$definition,"description":null}"""
        val routes = mapOf(
            "POST /v1/policies" to (201 to policy),
            "GET /v1/policies/research_agent" to (200 to policy),
            "GET /v1/policies?limit=20" to (200 to """{"items":[$policy],"has_more":false,"next_cursor":null}"""),
            "POST /v1/setup/policies/preview" to (200 to """{"provisional":true,"action":"web.search",
                "definition_sha256":"${policyDefinitionDigest(definition)}","policy_eval":{"input_sha256":"${eval.inputSha256}",
                "result":{"profile":"allowly.basic.v1","status":"ok","decision":"confirm","target":"agent_owner",
                "matched_rule_id":"review-high-risk","evaluated_fields":{"risk":2}}}}"""),
            "POST /v1/setup/policies/publish" to (201 to """{"policy_ref":${ref(2)},"agent_id":"research_agent",
                "created_by":"k","created_at":"2026-12-06T00:00:00Z","authorization_migrations":[],
                "archived_policy_ids":[],"revoked_confirmation_count":0}"""),
            "DELETE /v1/policies/research_agent" to (204 to ""),
        )
        withServer(routes) { allowly, seen ->
            val created = allowly.createPolicy("research_agent", definition)
            assertEquals(1L, created.policyRef.policyVersion)
            assertEquals(DecisionKind.CONFIRM, allowly.previewPolicy(definition, "web.search", """{"risk":2}""").policyEval.result.decision)
            val retained = allowly.getPolicy("research_agent")
            assertEquals(1, allowly.listPolicies(limit = 20u).items.size)
            val published = allowly.publishPolicy("research_agent", definition, "publish-2", previousPolicyRef = retained.policyRef)
            assertEquals(2L, published.policyRef.policyVersion)
            allowly.archivePolicy("research_agent")
            assertTrue(seen.any { it.startsWith("POST /v1/setup/policies/publish publish-2 ") && it.contains("\"previous_policy_ref\"") })
        }
    }

    @Test
    fun `an invalid definition never leaves the process`() {
        val bad = definition.replace("\"gte\"", "\"roughly\"")
        withServer(emptyMap()) { allowly, seen ->
            val e = assertThrows<AllowlyException.Validation> { runBlocking { allowly.createPolicy("research_agent", bad) } }
            assertEquals("actions[0].policy.rules[0].conditions[0].op", e.fields.single().field)
            assertTrue(seen.isEmpty())
        }
    }

    @Test
    fun `edition grants, the confirmation monitor and readiness`() {
        val routes = mapOf(
            "POST /v1/authorizations" to (201 to """{"authorization_id":"auth_e","policy_ref":${ref(1)},
                "actions":["web.search"],"created_at":"2026-12-06T00:00:00Z","expires_at":"2027-01-05T00:00:00Z",
                "receipt":{"status":"pending","receipt_id":"rcp_c"},"authorization_provenance":{"kind":"api_key"}}"""),
            "GET /v1/confirmations/cnf_1/status" to (200 to """{"confirmation_id":"cnf_1","authorization_id":"auth_e",
                "action":"web.search","resource":null,"status":"pending","expires_at":"2026-12-06T01:00:00Z",
                "resolved_at":null,"source_receipt_id":"rcp_s","resolution_receipt_id":null,"authority_status":"none",
                "child_authorization_id":null,"authority_expires_at":null}"""),
            "GET /readyz" to (503 to """{"status":"unavailable","database":false,"signer":true}"""),
        )
        withServer(routes) { allowly, seen ->
            val grant = allowly.createAuthorizationFromPolicy(
                EditionAuthorizationRequest("subject:abc", "research_agent", 1L, actions = listOf("web.search")),
            )
            assertEquals("research_agent", grant.policyRef.policyId)
            assertTrue(seen.single().endsWith(
                """{"user_id":"subject:abc","policy_id":"research_agent","policy_version":1,"actions":["web.search"],"metadata":{}}""",
            ))
            assertEquals("none", allowly.getConfirmationStatus("cnf_1").authorityStatus)
            assertFalse(allowly.readiness())
        }
    }
}
