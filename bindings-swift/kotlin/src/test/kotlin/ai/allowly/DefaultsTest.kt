// The Kotlin layer's default arguments are core's (allowly_core::client::DEFAULT_DURATIONS, through the native
// library): every name AllowlyClient.kt asks for exists there, so no default can silently fall out of step.
package ai.allowly

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.io.File
import kotlin.time.toKotlinDuration

class DefaultsTest {
    @Test
    fun everyDefaultAllowlyClientNamesIsCores() {
        val source = File("src/main/kotlin/ai/allowly/AllowlyClient.kt").readText()
        val named = Regex("""CoreDefaults\.of\("([a-z_]+)"\)""").findAll(source).map { it.groupValues[1] }.toSet()
        assertEquals(
            setOf("wait_timeout", "wait_poll_interval", "fetch_signed_timeout", "fetch_signed_poll_interval"),
            named,
        )
        val core = clientDefaultDurations()
        for (name in named) {
            assertTrue(name in core, "core has no default named $name")
            assertEquals(core.getValue(name).toKotlinDuration(), CoreDefaults.of(name))
            assertTrue(CoreDefaults.of(name).isPositive(), name)
        }
    }
}
