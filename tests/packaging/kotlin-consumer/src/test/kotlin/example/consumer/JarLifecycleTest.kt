// The lifecycle a user runs first, from a project whose only Allowly dependency is the published jar: the native
// library must come out of the jar (JNA's linux-x86-64/ or linux-aarch64/ resource), with no property pointing at it.
package example.consumer

import ai.allowly.Allowly
import ai.allowly.AllowlyException
import ai.allowly.ClientOptions
import ai.allowly.CreateAuthorizationRequest
import ai.allowly.Decision
import ai.allowly.decision
import ai.allowly.ScopeConstraints
import ai.allowly.ScopeGrant
import ai.allowly.VerifyOptions
import ai.allowly.fromEmail
import ai.allowly.verifyReceiptJson
import com.sun.jna.NativeLibrary
import com.sun.jna.Platform
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.io.File
import java.nio.file.Files
import java.util.concurrent.TimeUnit
import kotlin.time.Duration.Companion.seconds

class JarLifecycleTest {
    @Test
    fun `the jar alone runs the lifecycle against allowly serve --dev`() = runBlocking {
        assertNull(System.getProperty("jna.library.path"), "the jar must not need jna.library.path")
        val library = "${Platform.RESOURCE_PREFIX}/${System.mapLibraryName("allowly_ffi")}"
        val resource = requireNotNull(javaClass.classLoader.getResource(library)) { "$library is not in the jar" }
        assertTrue(
            resource.toString().startsWith("jar:") && resource.toString().contains("openallowly-kotlin-"),
            "$library comes from $resource, not from the openallowly-kotlin jar",
        )

        DevServer.start().use { server ->
            Allowly(server.runtimeApiKey, ClientOptions(baseUrl = server.baseUrl, allowInsecureHttp = true)).use { allowly ->
                val authorization = allowly.createAuthorization(
                    CreateAuthorizationRequest(
                        userId = fromEmail("Alice@Example.com", "demo-pepper-for-tests-only".toByteArray()),
                        agentId = "my-email-agent",
                        scopes = listOf(
                            ScopeGrant("email.read"),
                            ScopeGrant("email.send", ScopeConstraints(confirmPrompt = "Send this reply?")),
                        ),
                        requiresConfirmFor = listOf("email.send"),
                    ),
                )
                val first = allowly.check(authorization.authorizationId, listOf("email.read", "email.send"), "gmail:thread:1")
                assertEquals(Decision.Allow("scope_granted"), first.decision("email.read"))
                val confirm = first.decision("email.send") as Decision.Confirm
                assertEquals("approved", allowly.approve(requireNotNull(confirm.nonce), approved = true).decision)

                val again = allowly.check(authorization.authorizationId, listOf("email.send"), "gmail:thread:1")
                assertTrue(again.decision("email.send") is Decision.Allow, "after approval: ${again.decision("email.send")}")
                val receiptId = requireNotNull(again.results["email.send"]?.receipt?.receiptId)
                val signed = allowly.fetchSigned(receiptId, timeout = 20.seconds)
                val keys = allowly.workspaceKeys(server.workspaceId)
                val verified = verifyReceiptJson(signed.json, keys, VerifyOptions(expectedWorkspaceId = server.workspaceId))
                assertEquals("allow", verified.decision)
                val tampered = runCatching { verifyReceiptJson(signed.json.replace("\"allow\"", "\"deny\""), keys, VerifyOptions()) }
                assertTrue(tampered.exceptionOrNull() is AllowlyException.Verification, "tampered: $tampered")

                allowly.revokeAuthorization(authorization.authorizationId, revokedBy = "user", notes = "done")
                val revoked = allowly.check(authorization.authorizationId, listOf("email.read")).decision("email.read")
                assertEquals(Decision.Deny("authorization_revoked"), revoked)
            }
        }
        // JNA unpacked the library from the jar into its temp folder: the file it loaded is not any build output.
        val loaded = NativeLibrary.getInstance("allowly_ffi").file
        println("liballowly_ffi loaded from $loaded (resource $resource)")
        assertTrue(loaded != null && !loaded.path.contains("/target/"), "loaded $loaded")
    }
}

/** `allowly serve --dev` on a temp SQLite file, as a user would start it; stopped by close(). */
class DevServer private constructor(private val process: Process, private val dir: File, ready: String) : AutoCloseable {
    private fun field(text: String, name: String): String =
        requireNotNull(Regex("\"$name\"\\s*:\\s*\"([^\"]*)\"").find(text)) { "ready file has no $name: $text" }.groupValues[1]

    val baseUrl = field(ready, "base_url")
    val workspaceId = field(ready, "workspace_id")
    val runtimeApiKey = field(ready, "runtime_api_key")

    override fun close() {
        process.destroy()
        if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly().waitFor()
        dir.deleteRecursively()
    }

    companion object {
        fun start(): DevServer {
            val bin = File(System.getProperty("allowly.bin") ?: error("allowly.bin is not set"))
            check(bin.canExecute()) { "$bin is not an executable allowly binary" }
            val dir = Files.createTempDirectory("openallowly-consumer").toFile()
            val ready = File(dir, "ready.json")
            val log = File(dir, "server.log")
            val process = ProcessBuilder(
                bin.path, "serve", "--dev", "--db", "sqlite://${File(dir, "test.db").path}",
                "--listen", "127.0.0.1:0", "--ready-file", ready.path,
            ).redirectErrorStream(true).redirectOutput(log).also { it.environment().remove("ALLOWLY_MASTER_KEY") }.start()
            val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60)
            while (!(ready.exists() && ready.length() > 0)) {
                if (!process.isAlive) error("allowly serve exited with ${process.exitValue()}: ${log.readText()}")
                if (System.nanoTime() > deadline) {
                    process.destroyForcibly()
                    error("no ready file within 60 s: ${log.readText()}")
                }
                Thread.sleep(50)
            }
            return DevServer(process, dir, ready.readText())
        }
    }
}
