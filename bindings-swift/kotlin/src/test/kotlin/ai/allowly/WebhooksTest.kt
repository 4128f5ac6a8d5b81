// verifyWebhook through the Kotlin API: the shared webhook vectors (tests/conformance/webhooks, also read by core,
// Python and Node) and the seen-id store as a MemorySeenIds or a SeenIdsCallback of the caller's own.
package ai.allowly

import java.io.File
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.DynamicTest
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestFactory
import org.junit.jupiter.api.assertThrows

class WebhooksTest {
    private val root = File(System.getProperty("allowly.conformance.dir") ?: "../../tests/conformance")
    private val doc = JsonNode.parse(File(root, "webhooks/vectors.json").readText())
    private val secret = doc["secret"].string
    private val workspace = doc["workspace_id"].string
    private val tolerance = doc["tolerance_seconds"].raw.toULong()

    private fun verify(case: JsonNode, seen: MemorySeenIds? = null, callback: SeenIdsCallback? = null): WebhookEvent =
        verifyWebhook(
            case["body"].string.toByteArray(Charsets.UTF_8),
            case["headers"].list.map { WebhookHeader(it.list[0].string, it.list[1].string) },
            secret,
            workspace,
            toleranceSeconds = tolerance,
            now = case["now"].raw.toLong(),
            seen = seen,
            seenCallback = callback,
        )

    @TestFactory
    fun `every shared webhook vector`(): List<DynamicTest> = doc["cases"].list.map { case ->
        DynamicTest.dynamicTest(case["name"].string) {
            val seen = MemorySeenIds()
            if (case["deliver_twice"].raw == "true") verify(case, seen)
            if (case["expect"].string == "accept") {
                val event = verify(case, seen)
                val body = JsonNode.parse(case["body"].string)
                assertEquals(body["id"].string, event.id)
                assertEquals(body["type"].string, event.eventType)
                assertEquals(workspace, event.workspaceId)
                assertEquals(body["data"].raw, event.dataJson)
                assertEquals(1uL, seen.size())
            } else {
                val e = assertThrows<AllowlyException.Webhook> { verify(case, seen) }
                assertEquals(case["error"].string, e.code)
                assertFalse(e.message.orEmpty().contains(secret.removePrefix("whsec_")))
            }
        }
    }

    @Test
    fun `a callback store sees each accepted id once`() {
        val good = doc["cases"].list.first { it["name"].string == "good" }
        val recorded = mutableMapOf<String, Long>()
        val callback = object : SeenIdsCallback {
            override fun checkAndRecord(eventId: String, forgetAfter: Long): Boolean =
                recorded.putIfAbsent(eventId, forgetAfter) == null
        }
        verify(good, callback = callback)
        val id = JsonNode.parse(good["body"].string)["id"].string
        assertEquals(mapOf(id to good["now"].raw.toLong() + tolerance.toLong()), recorded)
        val replay = assertThrows<AllowlyException.Webhook> { verify(good, callback = callback) }
        assertEquals("webhook_replay", replay.code)
        val bad = assertThrows<AllowlyException.Validation> {
            verifyWebhook(good["body"].string.toByteArray(), emptyList(), "secret", workspace)
        }
        assertTrue(bad.code.isNotEmpty())
    }
}
