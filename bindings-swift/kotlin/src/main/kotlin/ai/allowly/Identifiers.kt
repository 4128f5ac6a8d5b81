// The `fromEmail` overload over raw bytes (UniFFI functions cannot be overloaded, so the native call has its own name).
package ai.allowly

/**
 * `email_hmac:v1:…` from a pepper kept as bytes: the id the text overload gives for the pepper's UTF-8 bytes, so an
 * app may store its pepper either way (as the official 0.8.0 SDK allows). `version` null means core's one scheme
 * (`v1`); any other is refused with [AllowlyException.Validation] rather than producing an id nothing else reproduces.
 */
fun fromEmail(email: String, pepper: ByteArray, version: String? = null): String = fromEmailBytes(email, pepper, version)
