// verifyWebhook through the public JS API: the shared webhook vectors (tests/conformance/webhooks, also read by
// core/tests/webhook_vectors.rs and the Python and Kotlin tests) and the seen-id store as an object or a callback.

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'

import { MemorySeenIds, ValidationError, WebhookVerificationError, verifyWebhook } from 'openallowly'

const doc = JSON.parse(readFileSync(new URL('../../tests/conformance/webhooks/vectors.json', import.meta.url), 'utf8'))

function verify(c, seen) {
  return verifyWebhook(Buffer.from(c.body, 'utf8'), c.headers, doc.secret, doc.workspace_id, {
    toleranceSeconds: doc.tolerance_seconds,
    now: c.now,
    seen,
  })
}

for (const c of doc.cases) {
  test(`webhook vector ${c.name}`, () => {
    const seen = new MemorySeenIds()
    if (c.deliver_twice) verify(c, seen)
    if (c.expect === 'accept') {
      const event = verify(c, seen)
      const body = JSON.parse(c.body)
      assert.equal(event.id, body.id)
      assert.equal(event.type, body.type)
      assert.equal(event.workspaceId, doc.workspace_id)
      assert.deepEqual(event.data, body.data)
      assert.equal(seen.size, 1)
    } else {
      assert.throws(
        () => verify(c, seen),
        (e) => e instanceof WebhookVerificationError && e.code === c.error && e.kind === c.error.slice('webhook_'.length)
          && !e.message.includes(doc.secret.slice(6)),
      )
    }
  })
}

test('a callback store is asked once per accepted id and what it throws propagates', () => {
  const good = doc.cases.find((c) => c.name === 'good')
  const recorded = new Map()
  const seen = (id, forgetAfter) => {
    if (recorded.has(id)) return false
    recorded.set(id, forgetAfter)
    return true
  }
  verify(good, seen)
  assert.deepEqual([...recorded], [[JSON.parse(good.body).id, good.now + doc.tolerance_seconds]])
  assert.throws(() => verify(good, seen), (e) => e instanceof WebhookVerificationError && e.kind === 'replay')
  assert.throws(() => verify(good, () => { throw new Error('store down') }), /store down/)
  assert.throws(() => verify(good, 42), ValidationError)
})

test('headers as an object, a Map or pairs; a bad secret is a ValidationError', () => {
  const good = doc.cases.find((c) => c.name === 'good')
  for (const headers of [Object.fromEntries(good.headers), new Map(good.headers), good.headers]) {
    const event = verifyWebhook(good.body, headers, doc.secret, doc.workspace_id, { now: good.now, seen: new MemorySeenIds() })
    assert.equal(event.type, 'confirmation.resolved')
  }
  assert.throws(() => verifyWebhook(good.body, good.headers, 'secret', doc.workspace_id), ValidationError)
})
