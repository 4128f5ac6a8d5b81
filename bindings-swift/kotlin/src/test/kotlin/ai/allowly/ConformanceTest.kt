// The shared vectors of tests/conformance (also read by core, Python and Node) through the Kotlin API.
package ai.allowly

import java.io.File
import java.time.Instant
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

class ConformanceTest {
    private val root = File(System.getProperty("allowly.conformance.dir") ?: "../../tests/conformance")
    private val vectors = JsonNode.parse(File(root, "receipt-format-v4/test-vectors.json").readText())
    private val options = VerifyOptions(expectedWorkspaceId = "ws_test", now = Instant.parse("2026-11-23T00:00:00Z"))

    /** The kind each rejection must have, as in core/tests/receipt_conformance.rs and the other bindings. */
    private fun expectedKind(name: String): VerificationErrorKind = when {
        name in setOf("tampered_payload", "forged_signature", "key_id_swapped") -> VerificationErrorKind.SIGNATURE_MISMATCH
        name == "unknown_key_id" -> VerificationErrorKind.UNKNOWN_KEY
        name == "future_version" -> VerificationErrorKind.UNSUPPORTED_VERSION
        name in setOf("integer_out_of_safe_range", "context_lone_surrogate", "context_deep_nesting") ->
            VerificationErrorKind.MALFORMED
        name.startsWith("issued_at_") -> VerificationErrorKind.TIMESTAMP
        name in setOf("key_not_yet_active", "key_retired_at_issued_at") -> VerificationErrorKind.KEY_OUTSIDE_WINDOW
        else -> VerificationErrorKind.SCHEMA
    }

    @Test
    fun `every should_verify vector verifies`() {
        val keys = loadKeysFromJson(vectors["public_keys"].raw)
        assertEquals("ws_test", keys.workspaceId())
        val cases = vectors["should_verify"].list
        assertEquals(22, cases.size)
        for (v in cases) {
            val receipt = v["receipt"]
            val ok = verifyReceiptJson(receipt.raw, keys, options)
            assertEquals(receipt["receipt_id"].string, ok.receiptId, v["name"].string)
            val action = v["kind"].string == "action"
            assertEquals(if (action) ReceiptKind.ACTION else ReceiptKind.EVENT, ok.kind)
            assertEquals(receipt[if (action) "action" else "event"].string, ok.name)
            assertEquals(receipt["decision"].string, ok.decision)
            assertEquals(receipt["issued_at"].string, ok.issuedAt)
        }
    }

    @Test
    fun `every should_reject vector is rejected with its reason and kind`() {
        val keys = loadKeysFromJson(vectors["public_keys"].raw)
        val cases = vectors["should_reject"].list
        assertEquals(39, cases.size)
        for (v in cases) {
            val name = v["name"].string
            val e = assertThrows<AllowlyException.Verification>(name) {
                verifyReceiptJson(v["receipt"].raw, keys, options)
            }
            assertTrue(e.detail.contains(v["expected_reason"].string), "$name: ${e.detail}")
            assertEquals(expectedKind(name), e.kind, "$name: ${e.detail}")
            assertEquals(e.kind.code, e.code)
        }
    }

    @Test
    fun `trusted fingerprints pin keys and raw text keeps duplicates visible`() {
        val keys = loadKeysFromJson(vectors["public_keys"].raw)
        val fingerprints = vectors["public_keys"]["keys"].list.map { it["public_key_fingerprint"].string }
        assertEquals(fingerprints, keys.fingerprints())
        val receipt = vectors["should_verify"].list[0]["receipt"].raw
        verifyReceiptJson(receipt, keys, options.copy(trustedFingerprints = fingerprints))
        val untrusted = assertThrows<AllowlyException.Verification> {
            verifyReceiptJson(receipt, keys, options.copy(trustedFingerprints = listOf("sha256:" + "0".repeat(64))))
        }
        assertEquals(VerificationErrorKind.UNTRUSTED_KEY, untrusted.kind)
        val duplicated = receipt.replaceFirst("{", "{\"decision\":\"deny\",")
        val malformed = assertThrows<AllowlyException.Verification> { verifyReceiptJson(duplicated, keys, options) }
        assertEquals("malformed", malformed.code)
        assertThrows<AllowlyException.Verification> { loadKeysFromJson("{\"workspace_id\":\"ws\",\"keys\":[]") }
    }

    // ---- wire 5 (tests/conformance/receipt-format-v5): JWS receipts, each rejection names its expected kind ----

    private val v5 = JsonNode.parse(File(root, "receipt-format-v5/test-vectors.json").readText())
    private val v5Options = VerifyOptions(expectedWorkspaceId = "ws_test", now = Instant.parse(v5["now"].string))

    private fun decoded(segment: String): JsonNode =
        JsonNode.parse(String(java.util.Base64.getUrlDecoder().decode(segment), Charsets.UTF_8))

    @Test
    fun `every v5 should_verify vector verifies`() {
        val keys = loadKeysFromJson(v5["public_keys"].raw)
        val cases = v5["should_verify"].list
        assertEquals(29, cases.size)
        for (v in cases) {
            val receipt = v["receipt"]
            val payload = decoded(receipt["payload"].string)
            val ok = verifyReceiptJson(receipt.raw, keys, v5Options)
            val name = v["name"].string
            assertEquals("5", ok.schemaVersion, name)
            assertEquals(payload["receipt_id"].string, ok.receiptId, name)
            assertEquals(decoded(receipt["protected"].string)["kid"].string, ok.keyId, name)
            val action = v["kind"].string == "action"
            assertEquals(if (action) ReceiptKind.ACTION else ReceiptKind.EVENT, ok.kind, name)
            assertEquals(payload[if (action) "action" else "event"].string, ok.name, name)
            assertEquals(payload["decision"].string, ok.decision, name)
        }
        val v4 = verifyReceiptJson(vectors["should_verify"].list[0]["receipt"].raw, loadKeysFromJson(vectors["public_keys"].raw), options)
        assertEquals("4", v4.schemaVersion)
    }

    @Test
    fun `every v5 should_reject vector is rejected with its kind and reason`() {
        val keys = loadKeysFromJson(v5["public_keys"].raw)
        val cases = v5["should_reject"].list
        assertEquals(88, cases.size)
        for (v in cases) {
            val name = v["name"].string
            val e = assertThrows<AllowlyException.Verification>(name) {
                verifyReceiptJson(v["receipt"].raw, keys, v5Options)
            }
            assertTrue(e.detail.contains(v["expected_reason"].string), "$name: ${e.detail}")
            assertEquals(v["expected_kind"].string, e.code, "$name: ${e.detail}")
            assertEquals(e.kind.code, e.code)
        }
    }

    @Test
    fun `fromEmail takes a bytes pepper and a version as 0_8_0 does`() {
        val text = fromEmail(" Alice@Example.com ", "pépper")
        assertTrue(text.startsWith("email_hmac:v1:"))
        assertEquals(text, fromEmail("alice@example.com", "pépper".toByteArray(Charsets.UTF_8)))
        assertEquals(text, fromEmail("alice@example.com", "pépper".toByteArray(Charsets.UTF_8), "v1"))
        assertTrue(fromEmail("a@b.c", byteArrayOf(0xff.toByte(), 0, 0x80.toByte())).startsWith("email_hmac:v1:"))
        val e = assertThrows<AllowlyException.Validation> { fromEmail("a@b.c", "p".toByteArray(), "v2") }
        assertEquals("invalid_input", e.code)
        assertEquals("version", e.fields[0].field)
    }

    @Test
    fun `from_email vectors`() {
        val cases = JsonNode.parse(File(root, "identifiers/email-hmac-v1.json").readText()).list
        assertTrue(cases.isNotEmpty())
        for (v in cases) {
            val email = v["email"].string
            val pepper = v["pepper"].string
            if (v.has("user_id")) {
                assertEquals(v["user_id"].string, fromEmail(email, pepper))
            } else {
                val e = assertThrows<AllowlyException.Validation> { fromEmail(email, pepper) }
                assertEquals("invalid_input", e.code)
                assertTrue(e.detail.contains(v["error"].string), "${e.detail} lacks ${v["error"].string}")
                if (pepper.isNotEmpty()) assertTrue(!e.detail.contains(pepper))
            }
        }
    }
}
