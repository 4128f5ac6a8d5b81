// Typed errors: every core variant and verification kind has its Kotlin counterpart, HTTP failures arrive as the
// matching AllowlyException subclass, and no secret reaches a message or a toString.
package ai.allowly

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows
import kotlin.time.Duration.Companion.milliseconds

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ErrorsTest {
    private lateinit var server: DevServer

    @BeforeAll
    fun start() {
        server = DevServer.start()
    }

    @AfterAll
    fun stop() = server.close()

    /** A well-formed but unknown runtime key, built at run time so no key-shaped literal is committed. */
    private val unknownKey = "allowly_rt_" + "x".repeat(40)

    @Test
    fun `every core error variant and verification kind is mapped`() {
        val variants = AllowlyException::class.java.declaredClasses
            .filter { AllowlyException::class.java.isAssignableFrom(it) }.map { it.simpleName }.toSet()
        assertEquals(
            setOf(
                "Authentication", "PermissionDenied", "NotFound", "Conflict", "Validation", "RateLimited", "Server",
                "Timeout", "Network", "Protocol", "Config", "Verification", "Webhook",
            ),
            variants,
        )
        assertEquals(coreVerificationErrorCodes(), VerificationErrorKind.entries.map { it.code })
    }

    /** Fails when a kind is added to core and the UniFFI enum has no variant named after it. */
    @Test
    fun `every core error kind has the variant named after it`() {
        val variants = AllowlyException::class.java.declaredClasses
            .filter { AllowlyException::class.java.isAssignableFrom(it) }
            .map(::errorKind)
        assertEquals(coreErrorKinds().toSet(), variants.toSet())
    }

    @Test
    fun `http errors arrive as their subclasses without the key`() = runBlocking {
        val bad = server.client(unknownKey)
        val auth = runCatching { bad.getAuthorization("auth_missing") }.exceptionOrNull()
        assertTrue(auth is AllowlyException.Authentication, "unknown key: $auth")
        auth as AllowlyException.Authentication
        assertEquals(401, auth.status?.toInt(), "the HTTP status rides on the error")
        assertFalse(auth.message.orEmpty().contains(unknownKey))
        assertFalse(auth.toString().contains(unknownKey))
        assertFalse(bad.toString().contains(unknownKey))
        bad.close()

        server.client().use { allowly ->
            val missing = runCatching { allowly.getAuthorization("auth_does_not_exist") }.exceptionOrNull()
            assertTrue(missing is AllowlyException.NotFound, "missing authorization: $missing")
            assertEquals(404, (missing as AllowlyException.NotFound).status?.toInt())
            val invalid = runCatching { allowly.check("auth_x", emptyList()) }.exceptionOrNull()
            assertTrue(invalid is AllowlyException.Validation, "no scopes: $invalid")
            assertEquals("invalid_input", (invalid as AllowlyException.Validation).code)
            assertEquals(null, invalid.status, "rejected locally: no HTTP status")
            val badJson = runCatching { allowly.check("auth_x", listOf("a"), contextJson = "[1]") }.exceptionOrNull()
            assertTrue(badJson is AllowlyException.Validation, "context not an object: $badJson")
            val reused = runCatching { allowly.approve(ConfirmNonce("cn_never_issued"), true) }.exceptionOrNull()
            assertTrue(reused is AllowlyException.NotFound, "unknown nonce: $reused")
            assertFalse(reused.toString().contains("cn_never_issued"))
        }
    }

    @Test
    fun `configuration errors are thrown at construction`() {
        val plain = assertThrows<AllowlyException.Config> { Allowly(unknownKey, ClientOptions(baseUrl = server.baseUrl)) }
        assertTrue(plain.detail.contains("HTTPS"), plain.detail)
        assertThrows<AllowlyException.Config> { Allowly("", ClientOptions()) }
    }

    @Test
    fun `check fails closed when the server is unreachable`() = runBlocking {
        val options = ClientOptions(
            baseUrl = "http://127.0.0.1:9",
            allowInsecureHttp = true,
            checkTimeout = java.time.Duration.ofSeconds(2),
            maxRetries = 0u,
            fallbackByScope = mapOf("docs.read" to FallbackMode.OPEN),
        )
        Allowly(unknownKey, options).use { offline ->
            val response = offline.check("auth_1", listOf("email.send", "docs.read"))
            val send = response.decision("email.send")
            assertTrue(send is Decision.Deny && send.isFallback && send.reason.startsWith("fallback_closed"), "$send")
            val read = response.decision("docs.read")
            assertTrue(read is Decision.Allow && read.isFallback, "$read")
            val wait = runCatching { offline.waitForConfirmation("cnf_1", timeout = 300.milliseconds) }.exceptionOrNull()
            assertTrue(wait is AllowlyException.Timeout, "wait against a dead server: $wait")
        }
    }

    @Test
    fun `an overloaded server is a Server error with retryAfterMs and check falls back`() = runBlocking {
        // A server shedding load: every request is refused before any work with 503 overloaded and Retry-After.
        val overloaded = com.sun.net.httpserver.HttpServer.create(java.net.InetSocketAddress("127.0.0.1", 0), 0)
        overloaded.createContext("/") { exchange ->
            exchange.requestBody.readAllBytes()
            val body = """{"error":{"code":"overloaded","message":"over capacity","fields":[]}}""".toByteArray()
            exchange.responseHeaders.add("Content-Type", "application/json")
            exchange.responseHeaders.add("Retry-After", "2")
            exchange.sendResponseHeaders(503, body.size.toLong())
            exchange.responseBody.use { it.write(body) }
        }
        overloaded.start()
        try {
            val options = ClientOptions(
                baseUrl = "http://127.0.0.1:${overloaded.address.port}",
                allowInsecureHttp = true,
                maxRetries = 0u,
                fallbackByScope = mapOf("docs.read" to FallbackMode.OPEN),
            )
            Allowly(unknownKey, options).use { client ->
                val error = runCatching { client.getAuthorization("auth_1") }.exceptionOrNull()
                assertTrue(error is AllowlyException.Server, "503 overloaded: $error")
                error as AllowlyException.Server
                assertEquals(503, error.status.toInt())
                assertEquals("overloaded", error.code)
                assertEquals(2000uL, error.retryAfterMs)
                val response = client.check("auth_1", listOf("email.send", "docs.read"))
                val send = response.decision("email.send")
                assertTrue(send is Decision.Deny && send.isFallback && send.reason == "fallback_closed_unreachable", "$send")
                val read = response.decision("docs.read")
                assertTrue(read is Decision.Allow && read.isFallback, "$read")
            }
        } finally {
            overloaded.stop(0)
        }
    }

    @Test
    fun `nonces are redacted in text`() {
        val nonce = ConfirmNonce("cn_secret_value")
        assertEquals("ConfirmNonce(<redacted>)", nonce.toString())
        val decision = Decision.Confirm("scope_requires_user_confirmation", nonce, "cnf_1", null)
        assertFalse(decision.toString().contains("cn_secret_value"))
        assertEquals("cn_secret_value", nonce.reveal())
    }
}
