// The cross-language scenarios (tests/scenarios/*.json) through the Kotlin SDK: each step name maps to one public call
// of the `Allowly` layer or the generated ai.allowly functions; every expectation lives in the JSON. Results are turned
// into snake_case maps so the same expectations apply. With ALLOWLY_PARITY_DIR set, each scenario's outcome is written
// to $ALLOWLY_PARITY_DIR/kotlin.json for `make parity`.
package ai.allowly

import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.DynamicTest
import org.junit.jupiter.api.TestFactory
import org.junit.jupiter.api.TestInstance
import java.io.File
import java.net.ServerSocket
import java.time.Duration
import java.time.Instant
import java.time.temporal.ChronoUnit
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

private const val LANGUAGE = "kotlin"

/** The scenario or the runner is wrong (not an SDK outcome). */
class RunnerError(message: String) : Exception(message)

/** A JSON value as plain Kotlin: Map, List, String, Long, Double, Boolean or null (numbers as Long when integral). */
fun plain(n: JsonNode): Any? = when (val v = n.value) {
    is Map<*, *> -> v.entries.associate { (k, x) -> k as String to plain(x as JsonNode) }
    is List<*> -> v.map { plain(it as JsonNode) }
    is String -> if (n.raw.startsWith("\"")) v else v.toLongOrNull() ?: v.toDouble()
    else -> v
}

fun toJson(v: Any?): String = when (v) {
    null -> "null"
    is String -> buildString {
        append('"')
        for (c in v) when {
            c == '"' -> append("\\\"")
            c == '\\' -> append("\\\\")
            c < ' ' -> append("\\u%04x".format(c.code))
            else -> append(c)
        }
        append('"')
    }
    is Map<*, *> -> v.entries.joinToString(",", "{", "}") { (k, x) -> toJson(k.toString()) + ":" + toJson(x) }
    is List<*> -> v.joinToString(",", "[", "]") { toJson(it) }
    is Number, is Boolean -> v.toString()
    else -> toJson(v.toString())
}

private fun parseJson(text: String): Any? = plain(JsonNode.parse(text))

// Snake_case views of the SDK's results.
private fun envelope(r: ReceiptEnvelope?): Map<String, Any?>? = r?.let {
    mapOf("status" to it.status.name.lowercase(), "receipt_id" to it.receiptId, "ready_at_estimate" to it.readyAtEstimate,
        "url" to it.url, "json" to it.json)
}

private fun authorization(a: Authorization) = mapOf(
    "authorization_id" to a.authorizationId, "user_id" to a.userId, "agent_id" to a.agentId,
    "scopes" to a.scopes.map { it.name }, "created_at" to a.createdAt, "expires_at" to a.expiresAt,
    "requires_confirm_for" to a.requiresConfirmFor, "requires_deny_for" to a.requiresDenyFor, "policy_id" to a.policyId,
    "budget_limit_micros" to a.budgetLimitMicros, "budget_spent_micros" to a.budgetSpentMicros,
    "metadata" to a.metadataJson?.let(::parseJson), "status" to a.status?.name?.lowercase(),
    "receipt" to envelope(a.receipt), "replaced_authorization_id" to a.replacedAuthorizationId,
    "revocation_receipt" to envelope(a.revocationReceipt),
)

private fun scopeResult(r: ScopeResult) = mapOf(
    "decision" to r.decision.name.lowercase(), "reason" to r.reason, "receipt" to envelope(r.receipt),
    "confirm_nonce" to r.confirmNonce, // kept as the SDK's (redacted) type: approve_confirmation takes it back
    "confirmation_id" to r.confirmationId, "confirm_expires_at" to r.confirmExpiresAt,
    "confirm_prompt_hint" to r.confirmPromptHint, "is_fallback" to r.isFallback,
    "budget" to r.budget?.let {
        mapOf("limit_micros" to it.limitMicros, "spent_micros" to it.spentMicros,
            "estimated_cost_micros" to it.estimatedCostMicros, "spent_after_micros" to it.spentAfterMicros)
    },
    "policy_eval" to r.policyEvalJson?.let(::parseJson),
    "escalation_id" to r.escalationId, "escalation_to" to r.escalationTo,
)

private fun escalationMonitor(m: EscalationMonitor) = mapOf(
    "escalation_id" to m.escalationId, "authorization_id" to m.authorizationId, "action" to m.action,
    "resource" to m.resource, "status" to m.status, "expires_at" to m.expiresAt, "resolved_at" to m.resolvedAt,
    "source_receipt_id" to m.sourceReceiptId, "resolution_receipt_id" to m.resolutionReceiptId,
    "authority_status" to m.authorityStatus, "consumed_at" to m.consumedAt, "escalation_to" to m.escalationTo,
    "level" to m.level?.toLong(), "levels" to m.levels?.toLong(), "resolved_by" to m.resolvedBy,
    "steps" to m.steps.map {
        mapOf("level" to it.level.toLong(), "resolution" to it.resolution, "resolved_by" to it.resolvedBy,
            "resolved_at" to it.resolvedAt, "receipt_id" to it.receiptId)
    },
)

private fun escalationResolved(r: EscalationResolved) = mapOf(
    "escalation_id" to r.escalationId, "status" to r.status, "resolved_by" to r.resolvedBy, "resolved_at" to r.resolvedAt,
    "level" to r.level?.toLong(), "levels" to r.levels?.toLong(), "escalation_status" to r.escalationStatus,
    "escalation_to" to r.escalationTo, "receipt" to envelope(r.receipt),
)

private fun verified(v: VerifiedReceipt) = mapOf(
    "receipt_id" to v.receiptId, "workspace_id" to v.workspaceId, "kind" to v.kind.name.lowercase(), "name" to v.name,
    "decision" to v.decision, "reason" to v.reason, "authorization_id" to v.authorizationId, "key_id" to v.keyId,
    "issued_at" to v.issuedAt,
)

/**
 * Core's kind of an error: each [AllowlyException] subclass is named after one (`RateLimited` is `rate_limited`), which
 * ErrorsTest checks against `coreErrorKinds()`, so no kind is spelled here.
 */
fun errorKind(variant: Class<*>): String = variant.simpleName.replace(Regex("(?<=.)(?=[A-Z])"), "_").lowercase()

/** The core Error kind, code and HTTP status (carried by the error, from core's `Error::code()` / `Error::status()`). */
private fun errorJson(e: AllowlyException): Map<String, Any?> {
    val (code, status) = when (e) {
        is AllowlyException.Authentication -> e.code to e.status?.toLong()
        is AllowlyException.PermissionDenied -> e.code to e.status?.toLong()
        is AllowlyException.NotFound -> e.code to e.status?.toLong()
        is AllowlyException.Conflict -> e.code to e.status.toLong()
        is AllowlyException.Validation -> e.code to e.status?.toLong()
        is AllowlyException.RateLimited -> e.code to e.status?.toLong()
        is AllowlyException.Server -> e.code to e.status.toLong()
        is AllowlyException.Timeout -> e.code to null
        is AllowlyException.Network -> e.code to null
        is AllowlyException.Protocol -> e.code to null
        is AllowlyException.Config -> e.code to null
        is AllowlyException.Verification -> e.code to null
        is AllowlyException.Webhook -> e.code to null
    }
    return mapOf("type" to errorKind(e.javaClass), "code" to code, "status" to status,
        "fields" to ((e as? AllowlyException.Validation)?.fields?.map { it.field } ?: emptyList<String>()),
        "retry_after" to (e as? AllowlyException.RateLimited)?.retryAfterMs?.let { it.toDouble() / 1000 })
}

/** `$name.a.b`, taking the longest existing key at each level (scope names contain dots). */
private fun lookup(vars: Map<String, Any?>, path: String): Any? {
    val segs = path.split(".")
    if (segs[0] !in vars) throw RunnerError("no variable \$${segs[0]}")
    var cur = vars[segs[0]]
    var i = 1
    while (i < segs.size) {
        val j = (segs.size downTo i + 1).firstOrNull { (cur as? Map<*, *>)?.containsKey(segs.subList(i, it).joinToString(".")) == true }
            ?: throw RunnerError("\$$path: nothing at ${segs.drop(i).joinToString(".")}")
        cur = (cur as Map<*, *>)[segs.subList(i, j).joinToString(".")]
        i = j
    }
    return cur
}

private fun resolve(vars: Map<String, Any?>, v: Any?): Any? = when {
    v is String && v.startsWith("$") -> lookup(vars, v.substring(1))
    v is List<*> -> v.map { resolve(vars, it) }
    v is Map<*, *> && "\$now_plus_ms" in v ->
        Instant.now().plusMillis(v["\$now_plus_ms"] as Long).truncatedTo(ChronoUnit.MILLIS).toString()
    v is Map<*, *> -> v.entries.associate { (k, x) -> k as String to resolve(vars, x) }
    else -> v
}

/** Subset match: objects key by key, arrays element by element, plus $len, $present and $ne. */
private fun match(exp: Any?, act: Any?, path: String) {
    fun fail(): Nothing = throw AssertionError("$path: expected ${toJson(exp)}, got ${toJson(act)}")
    when {
        exp is Map<*, *> && "\$len" in exp -> if (((act as? List<*>)?.size ?: (act as? String)?.length)?.toLong() != exp["\$len"]) fail()
        exp is Map<*, *> && "\$present" in exp -> if ((act != null) != exp["\$present"]) fail()
        exp is Map<*, *> && "\$ne" in exp -> if (act == exp["\$ne"]) fail()
        exp is Map<*, *> -> {
            if (act !is Map<*, *>) fail()
            for ((k, e) in exp) match(e, act[k], "$path.$k")
        }
        exp is List<*> -> {
            if (act !is List<*> || act.size != exp.size) fail()
            exp.forEachIndexed { i, e -> match(e, act[i], "$path[$i]") }
        }
        // JSON has one number type: 2 and 2.0 are the same value (retry_after is seconds as a double).
        exp is Number && act is Number -> if (exp.toDouble() != act.toDouble()) fail()
        exp != act -> fail()
    }
}

private fun str(a: Map<String, Any?>, k: String) = a[k] as String?

@Suppress("UNCHECKED_CAST")
private fun strings(v: Any?): List<String> = (v as List<String>?) ?: emptyList()

@Suppress("UNCHECKED_CAST")
private fun scopeGrant(s: Any?): ScopeGrant {
    if (s is String) return ScopeGrant(s)
    val m = s as Map<String, Any?>
    val c = m["constraints"] as Map<String, Any?>? ?: return ScopeGrant(m["name"] as String)
    fun conds(k: String) = (c[k] as List<Map<String, Any?>>? ?: emptyList()).map {
        Condition(it["field"] as String, ConditionOp.valueOf((it["op"] as String).uppercase()),
            if ("value" in it) toJson(it["value"]) else null)
    }
    return ScopeGrant(m["name"] as String, ScopeConstraints(
        maxPerDay = (c["max_per_day"] as Long?)?.toUInt(), resourcePattern = c["resource_pattern"] as String?,
        confirmWhen = conds("confirm_when"), denyWhen = conds("deny_when"), confirmPrompt = c["confirm_prompt"] as String?,
    ))
}

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ScenariosTest {
    private lateinit var server: DevServer
    private lateinit var silent: ServerSocket
    private lateinit var env: Map<String, Any?>
    private val report = LinkedHashMap<String, Map<String, String>>()

    @BeforeAll
    fun start() {
        server = DevServer.start()
        val dead = ServerSocket(0).use { it.localPort } // bound, then released: nothing listens
        silent = ServerSocket(0, 64) // listens, never accepts or answers
        env = mapOf("base_url" to server.baseUrl, "workspace_id" to server.workspaceId, "setup_api_key" to server.setupApiKey,
            "dead_base_url" to "http://127.0.0.1:$dead", "silent_base_url" to "http://127.0.0.1:${silent.localPort}")
    }

    @AfterAll
    fun stop() {
        silent.close()
        server.close()
        System.getenv("ALLOWLY_PARITY_DIR")?.takeIf { it.isNotEmpty() }?.let { dir ->
            File(dir).mkdirs()
            File(dir, "$LANGUAGE.json").writeText(toJson(mapOf("language" to LANGUAGE, "results" to report)))
        }
    }

    @TestFactory
    fun scenarios(): List<DynamicTest> {
        val dir = File(System.getProperty("allowly.scenarios.dir") ?: error("allowly.scenarios.dir is not set"))
        val files = dir.listFiles { f -> f.name.endsWith(".json") && f.name != "schema.json" }!!.sortedBy { it.name }
        check(files.isNotEmpty()) { "no scenarios in $dir" }
        return files.map { file ->
            @Suppress("UNCHECKED_CAST")
            val scenario = parseJson(file.readText()) as Map<String, Any?>
            val name = scenario["name"] as String
            val skip = scenario["skip"] as String? ?: (scenario["skip_languages"] as Map<*, *>?)?.get(LANGUAGE) as String?
            DynamicTest.dynamicTest("scenario $name") {
                if (skip != null) report[name] = mapOf("status" to "skip", "reason" to skip)
                assumeTrue(skip == null, skip)
                try {
                    // A scenario with `serve_args` gets a server of its own, started with those flags.
                    val own = (scenario["serve_args"] as List<*>?)?.let { args -> DevServer.start(args.map { it as String }) }
                    try {
                        val srv = own ?: server
                        val runEnv = env + mapOf("base_url" to srv.baseUrl, "workspace_id" to srv.workspaceId, "setup_api_key" to srv.setupApiKey)
                        runBlocking {
                            Run(srv, runEnv).use { run ->
                                (scenario["steps"] as List<*>).forEachIndexed { i, s -> run.step(i, s as Map<*, *>) }
                            }
                        }
                    } finally {
                        own?.close()
                    }
                } catch (e: Throwable) {
                    report[name] = mapOf("status" to "fail", "reason" to "${e::class.simpleName}: ${e.message}".lines()[0].take(300))
                    throw e
                }
                report[name] = mapOf("status" to "pass")
            }
        }
    }

    private inner class Run(val server: DevServer, runEnv: Map<String, Any?>) : AutoCloseable {
        val vars = mutableMapOf<String, Any?>("env" to runEnv)
        val keys = mutableMapOf<String, KeySet>()
        val seen = mutableMapOf<String, MemorySeenIds>()
        val clients = mutableListOf<Allowly>()
        val client = makeClient(emptyMap<String, Any?>())

        fun makeClient(o: Map<*, *>): Allowly = Allowly(
            o["api_key"] as String? ?: server.runtimeApiKey,
            ClientOptions(
                baseUrl = o["base_url"] as String? ?: server.baseUrl, allowInsecureHttp = true,
                maxRetries = (o["max_retries"] as Long?)?.toUInt(),
                checkTimeout = (o["check_timeout_ms"] as Long?)?.let { Duration.ofMillis(it) },
                fallbackByScope = (o["fallback_by_scope"] as Map<*, *>?)
                    ?.entries?.associate { (k, v) -> k as String to FallbackMode.valueOf((v as String).uppercase()) },
                agentCredential = (o["agent_credential"] as String?)?.let { AgentCredential.fromJson(it) },
                agentToken = o["agent_token"] as String?,
            ),
        ).also { clients += it }

        override fun close() = clients.forEach { it.close() }

        @Suppress("UNCHECKED_CAST")
        suspend fun op(step: Map<*, *>, a: Map<String, Any?>): Any? {
            val c = (step["client"] as Map<*, *>?)?.let { makeClient(resolve(vars, it) as Map<*, *>) } ?: client
            return when (val op = step["op"]) {
                "create_authorization" -> authorization(c.createAuthorization(CreateAuthorizationRequest(
                    userId = a["user_id"] as String, agentId = a["agent_id"] as String,
                    scopes = (a["scopes"] as List<Any?>).map(::scopeGrant), expiresAt = str(a, "expires_at"),
                    metadataJson = if ("metadata" in a) toJson(a["metadata"]) else null,
                    budgetLimitMicros = a["budget_limit_micros"] as Long?,
                    requiresConfirmFor = strings(a["requires_confirm_for"]), requiresDenyFor = strings(a["requires_deny_for"]),
                    requiresEscalationFor = strings(a["requires_escalation_for"]),
                    escalationTargets = (a["escalation_targets"] as Map<String, Any?>?)?.mapValues { strings(it.value) },
                    replaces = str(a, "replaces"),
                    confirmationTimeoutSeconds = a["confirmation_timeout_seconds"] as Long?,
                )))
                "get_authorization" -> authorization(c.getAuthorization(a["authorization_id"] as String))
                "revoke" -> c.revokeAuthorization(a["authorization_id"] as String, a["revoked_by"] as String, str(a, "notes")).let {
                    mapOf("authorization_id" to it.authorizationId, "revoked_at" to it.revokedAt,
                        "receipt" to envelope(it.receipt), "revoked_confirmations" to it.revokedConfirmations)
                }
                "check" -> c.check(CheckRequest(
                    a["authorization_id"] as String, strings(a["scopes"]), resource = str(a, "resource"),
                    contextJson = if ("context" in a) toJson(a["context"]) else null, sessionId = str(a, "session_id"),
                    estimatedCostMicros = a["estimated_cost_micros"] as Long?,
                    argumentsJson = if ("arguments" in a) toJson(a["arguments"]) else null,
                    confirmationId = str(a, "confirmation_id"),
                )).let { r ->
                    mapOf("authorization_id" to r.authorizationId, "user_id" to r.userId, "agent_id" to r.agentId,
                        "authorization_expires_at" to r.authorizationExpiresAt, "engine_version" to r.engineVersion,
                        "results" to r.results.mapValues { scopeResult(it.value) })
                }
                "approve_confirmation" -> c.approve(a["confirm_nonce"] as? ConfirmNonce ?: throw RunnerError("confirm_nonce is not a nonce"),
                    a["approved"] as Boolean, (a["ttl_seconds"] as Long?)?.seconds).let {
                    mapOf("decision" to it.decision, "confirmation_id" to it.confirmationId,
                        "authorization_id" to it.authorizationId, "expires_at" to it.expiresAt, "receipt" to envelope(it.receipt))
                }
                "settle_budget" -> c.settleBudget(a["check_receipt_id"] as String, a["actual_cost_micros"] as Long).let {
                    mapOf("check_receipt_id" to it.checkReceiptId, "authorization_id" to it.authorizationId,
                        "estimated_cost_micros" to it.estimatedCostMicros, "actual_cost_micros" to it.actualCostMicros,
                        "delta_micros" to it.deltaMicros, "spent_before_micros" to it.spentBeforeMicros,
                        "spent_after_micros" to it.spentAfterMicros, "receipt" to envelope(it.receipt))
                }
                "fetch_signed" -> c.fetchSigned(a["receipt_id"] as String, timeout = (a["timeout_ms"] as Long).milliseconds,
                    pollInterval = (a["poll_interval_ms"] as Long).milliseconds).let {
                    mapOf("receipt_id" to it.receiptId, "json" to it.json, "receipt" to parseJson(it.json))
                }
                "fetch_keys" -> c.workspaceKeys(a["workspace_id"] as String).let {
                    keys[step["save"] as String] = it
                    mapOf("workspace_id" to it.workspaceId(), "fingerprints" to it.fingerprints())
                }
                "verify_receipt" -> {
                    val name = ((step["args"] as Map<*, *>)["keys"] as String).removePrefix("$")
                    val keySet = keys[name] ?: throw RunnerError("no key set \$$name")
                    var text = (a["receipt"] as Map<*, *>)["json"] as String
                    (a["tamper"] as Map<*, *>?)?.let { t ->
                        val find = t["find"] as String
                        if (find !in text) throw RunnerError("tamper: $find not in the receipt")
                        text = text.replaceFirst(find, t["replace"] as String)
                    }
                    verified(verifyReceiptJson(text, keySet, VerifyOptions(expectedWorkspaceId = str(a, "expected_workspace_id"))))
                }
                "from_email" -> mapOf("user_id" to fromEmail(a["email"] as String, a["pepper"] as String))
                "verify_webhook" -> {
                    val headers = (a["headers"] as List<*>).map { h -> (h as List<*>).let { WebhookHeader(it[0] as String, it[1] as String) } }
                    val store = seen.getOrPut(a["seen"] as String) { MemorySeenIds() }
                    val e = verifyWebhook((a["body"] as String).toByteArray(Charsets.UTF_8), headers, a["secret"] as String,
                        a["expected_workspace_id"] as String, now = a["now"] as Long, seen = store)
                    mapOf("id" to e.id, "type" to e.eventType, "timestamp" to e.timestamp, "workspace_id" to e.workspaceId)
                }
                "set_webhook" -> c.admin.setWebhook(a["url"] as String).let {
                    mapOf("url" to it.url, "events" to it.events, "created_at" to it.createdAt)
                }
                "rotate_signing_key" -> c.admin.rotateSigningKey().let {
                    mapOf("key_id" to it.keyId, "active_from" to it.activeFrom, "workspace_id" to it.workspaceId)
                }
                "enroll_agent" -> {
                    val cred = makeClient(mapOf("api_key" to server.setupApiKey)).enrollAgent(a["agent_id"] as String)
                    mapOf("agent_id" to cred.agentId(), "binding_id" to cred.bindingId(), "key_id" to cred.keyId(),
                        "workspace_id" to cred.workspaceId(), "credential_json" to cred.credentialJson())
                }
                "mint_agent_token" -> {
                    val cred = AgentCredential.fromJson(a["credential"] as String)
                    val offset = (a["issued_at_offset_seconds"] as Long?) ?: 0L
                    mapOf("token" to cred.tokenAt(Instant.now().epochSecond + offset))
                }
                "create_member" -> c.admin.createMember(a["member_id"] as String, str(a, "display_name")).let {
                    mapOf("member_id" to it.memberId, "display_name" to it.displayName, "created_at" to it.createdAt,
                        "revoked_at" to it.revokedAt, "credential" to it.credential.reveal())
                }
                "resolve_escalation" -> escalationResolved(c.resolveEscalation(a["escalation_id"] as String,
                    a["resolution"] as String, note = str(a, "note"), resolvedBy = str(a, "resolved_by")))
                "get_escalation_status" -> escalationMonitor(c.getEscalationStatus(a["escalation_id"] as String))
                "wait_for_escalation" -> escalationMonitor(c.waitForEscalation(a["escalation_id"] as String,
                    timeout = (a["timeout_ms"] as Long).milliseconds, pollInterval = (a["poll_interval_ms"] as Long).milliseconds))
                "sleep" -> delay(a["ms"] as Long).let { null }
                else -> throw RunnerError("unknown op $op")
            }
        }

        @Suppress("UNCHECKED_CAST")
        suspend fun step(i: Int, step: Map<*, *>) {
            val where = "step $i (${step["op"]})"
            val args = resolve(vars, step["args"] ?: emptyMap<String, Any?>()) as Map<String, Any?>
            val result = try {
                op(step, args)
            } catch (e: AllowlyException) {
                val act = errorJson(e)
                if (step["error"] == null) throw AssertionError("$where: unexpected error ${toJson(act)}: ${e.message}")
                val exp = (resolve(vars, step["error"]) as Map<String, Any?>).toMutableMap()
                val fields = strings(exp.remove("fields"))
                match(exp, act, "$where error")
                val missing = fields.filter { it !in (act["fields"] as List<*>) }
                if (missing.isNotEmpty()) throw AssertionError("$where: error fields ${act["fields"]} lack $missing (${e.message})")
                return
            }
            if (step["error"] != null) throw AssertionError("$where: expected error ${toJson(step["error"])}, got ${toJson(result)}")
            step["expect"]?.let { match(resolve(vars, it), result, "$where result") }
            (step["save"] as String?)?.let { vars[it] = result }
        }
    }
}
