// The sealed `Decision` of the idiomatic layer and small extensions over the generated types.
package ai.allowly

/** What a check decided for one scope, as a type to `when` over. */
sealed class Decision {
    /** The reason code (`scope_granted`, `scope_requires_user_confirmation`, `fallback_closed_*`, …). */
    abstract val reason: String

    data class Allow(override val reason: String, val isFallback: Boolean = false) : Decision()

    /** Ask the user, then [Allowly.approve] with [nonce] (its text form is redacted) and check again. */
    data class Confirm(
        override val reason: String,
        val nonce: ConfirmNonce?,
        val confirmationId: String?,
        val promptHint: String?,
    ) : Decision()

    data class Deny(override val reason: String, val isFallback: Boolean = false) : Decision()

    data class Escalate(override val reason: String) : Decision()
}

/** This scope result as a [Decision]. */
fun ScopeResult.toDecision(): Decision = when (decision) {
    DecisionKind.ALLOW -> Decision.Allow(reason, isFallback)
    DecisionKind.CONFIRM -> Decision.Confirm(reason, confirmNonce, confirmationId, confirmPromptHint)
    DecisionKind.DENY -> Decision.Deny(reason, isFallback)
    DecisionKind.ESCALATE -> Decision.Escalate(reason)
}

/** The decision for [scope]; a response has exactly one result per requested scope. */
fun CheckResponse.decision(scope: String): Decision =
    (results[scope] ?: throw NoSuchElementException("no result for scope `$scope`")).toDecision()

/** Every verification kind's stable code (`signature_mismatch`, …), as in the other languages. */
val VerificationErrorKind.code: String get() = verificationErrorCode(this)
