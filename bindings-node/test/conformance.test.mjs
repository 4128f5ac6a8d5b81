// The shared conformance vectors (tests/conformance, also read by core/tests/receipt_conformance.rs and the other
// bindings) through the public JS API. Vector receipts are JSON values, so each is verified as its JSON text
// (a JS string passed to verifyReceipt is taken as raw receipt text, not as a JSON string value).

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'

import { identifiers, loadKeysFromJson, ValidationError, VerificationError, verifyReceipt } from 'openallowly'

const root = new URL('../../tests/conformance/', import.meta.url)
const vectorsText = readFileSync(new URL('receipt-format-v4/test-vectors.json', root), 'utf8')
const vectors = JSON.parse(vectorsText)
const emailVectors = JSON.parse(readFileSync(new URL('identifiers/email-hmac-v1.json', root), 'utf8'))

const options = { expectedWorkspaceId: 'ws_test', now: '2026-11-23T00:00:00Z' }

/** The kind each rejection must have, as in core/tests/receipt_conformance.rs. */
function expectedKind(name) {
  if (['tampered_payload', 'forged_signature', 'key_id_swapped'].includes(name)) return 'signature_mismatch'
  if (name === 'unknown_key_id') return 'unknown_key'
  if (name === 'future_version') return 'unsupported_version'
  if (['integer_out_of_safe_range', 'context_lone_surrogate', 'context_deep_nesting'].includes(name)) return 'malformed'
  if (name.startsWith('issued_at_')) return 'timestamp'
  if (['key_not_yet_active', 'key_retired_at_issued_at'].includes(name)) return 'key_outside_window'
  return 'schema'
}

test('vector file shape', () => {
  assert.equal(vectors.spec_version, '4')
  assert.equal(vectors.should_verify.length, 22)
  assert.equal(vectors.should_reject.length, 39)
})

test('every should_verify vector verifies', () => {
  const keys = loadKeysFromJson(vectors.public_keys)
  assert.equal(keys.workspaceId, 'ws_test')
  for (const v of vectors.should_verify) {
    const ok = verifyReceipt(JSON.stringify(v.receipt), keys, options)
    assert.equal(ok.receiptId, v.receipt.receipt_id, v.name)
    const kind = v.kind === 'action' ? 'action' : 'event'
    assert.equal(ok.kind, kind, v.name)
    assert.equal(ok.name, kind === 'action' ? v.receipt.action : v.receipt.event, v.name)
    assert.equal(ok.decision, v.receipt.decision, v.name)
    assert.equal(ok.issuedAt, v.receipt.issued_at, v.name)
  }
})

test('every should_reject vector is rejected with its reason and kind', () => {
  const keys = loadKeysFromJson(vectors.public_keys)
  for (const v of vectors.should_reject) {
    assert.throws(
      () => verifyReceipt(JSON.stringify(v.receipt), keys, options),
      (e) => {
        assert.ok(e instanceof VerificationError, `${v.name}: ${e}`)
        assert.ok(e.message.includes(v.expected_reason), `${v.name}: ${e.message} lacks ${v.expected_reason}`)
        assert.equal(e.code, expectedKind(v.name), `${v.name}: ${e.message}`)
        assert.equal(e.kind, e.code)
        return true
      },
      v.name,
    )
  }
})

test('raw text keeps what JSON.parse would lose: duplicate member names are rejected', () => {
  const keys = loadKeysFromJson(vectorsText.slice(vectorsText.indexOf('"public_keys"')).replace(/^"public_keys":\s*/, '').split(',\n  "should_verify"')[0])
  const receipt = JSON.stringify(vectors.should_verify[0].receipt)
  assert.equal(verifyReceipt(receipt, keys, options).receiptId, vectors.should_verify[0].receipt.receipt_id)
  const duplicated = receipt.replace('{', '{"decision":"deny",')
  assert.throws(() => verifyReceipt(duplicated, keys, options), (e) => e instanceof VerificationError && e.code === 'malformed')
  assert.throws(() => verifyReceipt(Buffer.from(duplicated), keys, options), (e) => e.code === 'malformed')
  assert.throws(() => loadKeysFromJson('{"workspace_id":"ws","keys":[]'), (e) => e instanceof VerificationError)
})

test('trusted fingerprints pin keys', () => {
  const keys = loadKeysFromJson(vectors.public_keys)
  const receipt = vectors.should_verify[0].receipt
  assert.deepEqual(keys.fingerprints(), vectors.public_keys.keys.map((k) => k.public_key_fingerprint))
  assert.ok(verifyReceipt(receipt, keys, { ...options, trustedFingerprints: keys.fingerprints() }))
  assert.throws(
    () => verifyReceipt(receipt, keys, { ...options, trustedFingerprints: [`sha256:${'0'.repeat(64)}`] }),
    (e) => e.code === 'untrusted_key',
  )
})

test('email-hmac-v1 vectors', () => {
  assert.ok(emailVectors.length >= 9)
  for (const v of emailVectors) {
    if (v.error) {
      assert.throws(
        () => identifiers.fromEmail(v.email, { pepper: v.pepper }),
        (e) => e instanceof ValidationError && e.message.includes(v.error) && !(v.pepper && e.message.includes(v.pepper)),
      )
    } else {
      assert.equal(identifiers.fromEmail(v.email, { pepper: v.pepper }), v.user_id, JSON.stringify(v.email))
    }
  }
})

test('fromEmail takes a bytes pepper and a version, as the 0.8.0 SDK does', () => {
  const text = identifiers.fromEmail(' Alice@Example.com ', { pepper: 'pépper' })
  assert.ok(text.startsWith('email_hmac:v1:'))
  assert.equal(identifiers.fromEmail('alice@example.com', { pepper: Buffer.from('pépper', 'utf8') }), text)
  assert.equal(identifiers.fromEmail('alice@example.com', { pepper: new TextEncoder().encode('pépper') }), text)
  assert.equal(identifiers.fromEmail('alice@example.com', { pepper: 'pépper', version: 'v1' }), text)
  assert.ok(identifiers.fromEmail('a@b.c', { pepper: new Uint8Array([0xff, 0x00, 0x80]) }).startsWith('email_hmac:v1:'))
  assert.throws(
    () => identifiers.fromEmail('a@b.c', { pepper: 'p', version: 'v2' }),
    (e) => e instanceof ValidationError && e.fields[0].field === 'version',
  )
})

// ---- wire 5 (tests/conformance/receipt-format-v5): JWS receipts, each rejection names its expected kind ----

const v5 = JSON.parse(readFileSync(new URL('receipt-format-v5/test-vectors.json', root), 'utf8'))
const v5Options = { expectedWorkspaceId: 'ws_test', now: v5.now }
const decode = (segment) => JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))

test('v5 vector file shape', () => {
  assert.equal(v5.spec_version, '5')
  assert.equal(v5.should_verify.length, 29)
  assert.equal(v5.should_reject.length, 88)
})

test('every v5 should_verify vector verifies', () => {
  const keys = loadKeysFromJson(v5.public_keys)
  for (const v of v5.should_verify) {
    const payload = decode(v.receipt.payload)
    for (const form of [JSON.stringify(v.receipt), v.receipt]) {
      const ok = verifyReceipt(form, keys, v5Options)
      assert.equal(ok.schemaVersion, '5', v.name)
      assert.equal(ok.receiptId, payload.receipt_id, v.name)
      assert.equal(ok.keyId, decode(v.receipt.protected).kid, v.name)
      assert.equal(ok.kind, v.kind, v.name)
      assert.equal(ok.name, payload[v.kind], v.name)
      assert.equal(ok.decision, payload.decision, v.name)
      assert.equal(ok.issuedAt, payload.issued_at, v.name)
    }
  }
  assert.equal(verifyReceipt(JSON.stringify(vectors.should_verify[0].receipt), loadKeysFromJson(vectors.public_keys), options).schemaVersion, '4')
})

test('every v5 should_reject vector is rejected with its kind and reason', () => {
  const keys = loadKeysFromJson(v5.public_keys)
  for (const v of v5.should_reject) {
    assert.throws(
      () => verifyReceipt(JSON.stringify(v.receipt), keys, v5Options),
      (e) => {
        assert.ok(e instanceof VerificationError, `${v.name}: ${e}`)
        assert.ok(e.message.includes(v.expected_reason), `${v.name}: ${e.message} lacks ${v.expected_reason}`)
        assert.equal(e.code, v.expected_kind, `${v.name}: ${e.message}`)
        return true
      },
      v.name,
    )
  }
})
