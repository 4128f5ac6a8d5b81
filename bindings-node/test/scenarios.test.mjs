// The cross-language scenarios (tests/scenarios/*.json) through the Node SDK: each step name maps to one public call
// of openallowly; every expectation lives in the JSON. Requests take the JSON's wire names turned camelCase, results
// are turned back to snake_case so the same expectations apply. With ALLOWLY_PARITY_DIR set, each scenario's outcome
// is written to $ALLOWLY_PARITY_DIR/node.json for `make parity`.

import assert from 'node:assert/strict'
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname, join, resolve as resolvePath } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'
import { after, before, test } from 'node:test'

import * as sdk from 'openallowly'
import { startServer } from './helpers/server.mjs'

const { CLASS_BY_KIND } = createRequire(import.meta.url)('../lib/errors.cjs')

const LANGUAGE = 'node'
const dir = resolvePath(dirname(fileURLToPath(import.meta.url)), '../../tests/scenarios')
const files = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'schema.json').sort()
const report = {}
// Core's kind of each error class, from core's own list (lib/errors.cjs builds CLASS_BY_KIND from the native layer).
const KIND_BY_CLASS = new Map(Object.entries(CLASS_BY_KIND).map(([kind, Class]) => [Class, kind]))
// Values under these request keys are data (context keys, metadata, condition values), not field names.
const OPAQUE = new Set(['context', 'metadata', 'value', 'fallback_by_scope', 'escalation_targets'])

class RunnerError extends Error {}

let server
let env
const held = []
before(async () => {
  server = await startServer()
  const listen = () => new Promise((r) => { const s = createServer(() => {}); s.listen(0, '127.0.0.1', () => r(s)) })
  const dead = await listen()
  const deadPort = dead.address().port
  await new Promise((r) => dead.close(r))
  const silent = await listen() // accepts and never answers
  silent.on('connection', (c) => held.push(c))
  held.push(silent)
  env = {
    base_url: server.baseUrl, workspace_id: server.workspaceId, setup_api_key: server.setupApiKey,
    dead_base_url: `http://127.0.0.1:${deadPort}`, silent_base_url: `http://127.0.0.1:${silent.address().port}`,
  }
})
after(async () => {
  for (const h of held) h.destroy ? h.destroy() : h.close()
  await server?.stop()
  if (process.env.ALLOWLY_PARITY_DIR) {
    mkdirSync(process.env.ALLOWLY_PARITY_DIR, { recursive: true })
    const out = join(process.env.ALLOWLY_PARITY_DIR, `${LANGUAGE}.json`)
    writeFileSync(out, JSON.stringify({ language: LANGUAGE, results: report }, null, 2))
  }
})

const camel = (k) => k.replace(/_([a-z])/g, (_, c) => c.toUpperCase())
const snake = (k) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v)
function rekey(v, f, opaque = new Set()) {
  if (Array.isArray(v)) return v.map((x) => rekey(x, f, opaque))
  if (!isObj(v)) return v
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [f(k), opaque.has(k) ? x : rekey(x, f, opaque)]))
}
const toWire = (v) => rekey(JSON.parse(JSON.stringify(v ?? null)), snake)
const toJs = (v) => rekey(v, camel, OPAQUE)

/** `$name.a.b`, taking the longest existing key at each level (scope names contain dots). */
function lookup(vars, path) {
  const segs = path.split('.')
  if (!(segs[0] in vars)) throw new RunnerError(`no variable $${segs[0]}`)
  let cur = vars[segs[0]]
  let i = 1
  outer: while (i < segs.length) {
    for (let j = segs.length; j > i; j--) {
      const key = segs.slice(i, j).join('.')
      if (isObj(cur) && key in cur) {
        cur = cur[key]
        i = j
        continue outer
      }
    }
    throw new RunnerError(`$${path}: nothing at ${segs.slice(i).join('.')}`)
  }
  return cur
}

function resolve(vars, v) {
  if (typeof v === 'string' && v.startsWith('$')) return lookup(vars, v.slice(1))
  if (Array.isArray(v)) return v.map((x) => resolve(vars, x))
  if (isObj(v) && '$now_plus_ms' in v) return new Date(Date.now() + v.$now_plus_ms).toISOString()
  if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(vars, x)]))
  return v
}

/** Subset match: objects key by key, arrays element by element, plus $len, $present and $ne. */
function match(exp, act, path) {
  const fail = () => assert.fail(`${path}: expected ${JSON.stringify(exp)}, got ${JSON.stringify(act)}`)
  if (isObj(exp) && '$len' in exp) {
    if (!(Array.isArray(act) || typeof act === 'string') || act.length !== exp.$len) fail()
  } else if (isObj(exp) && '$present' in exp) {
    if ((act !== null && act !== undefined) !== exp.$present) fail()
  } else if (isObj(exp) && '$ne' in exp) {
    if (JSON.stringify(act) === JSON.stringify(exp.$ne)) fail()
  } else if (isObj(exp)) {
    if (!isObj(act)) fail()
    for (const [k, e] of Object.entries(exp)) match(e, act[k], `${path}.${k}`)
  } else if (Array.isArray(exp)) {
    if (!Array.isArray(act) || act.length !== exp.length) fail()
    exp.forEach((e, i) => match(e, act[i], `${path}[${i}]`))
  } else if (exp === null) {
    if (act !== null && act !== undefined) fail()
  } else if (exp !== act) fail()
}

function errorJson(e) {
  const type = KIND_BY_CLASS.get(e.constructor) ?? 'unknown'
  return { type, code: e.code, status: e.status ?? null, fields: (e.fields ?? []).map((f) => f.field), retry_after: e.retryAfter ?? null }
}

class Run {
  constructor(srv, e) {
    this.server = srv
    this.vars = { env: e }
    this.keys = {}
    this.seen = {}
    this.client = this.makeClient({})
  }

  makeClient(o) {
    return new sdk.Allowly({
      apiKey: o.api_key ?? this.server.runtimeApiKey, baseUrl: o.base_url ?? this.server.baseUrl, allowInsecureHttp: true,
      maxRetries: o.max_retries, checkTimeoutMs: o.check_timeout_ms, fallbackByScope: o.fallback_by_scope,
      agentCredential: o.agent_credential ? sdk.AgentCredential.fromJson(o.agent_credential) : undefined,
      agentToken: o.agent_token,
    })
  }

  async op(step, a) {
    const c = step.client ? this.makeClient(resolve(this.vars, step.client)) : this.client
    const js = toJs(a)
    switch (step.op) {
      case 'create_authorization': return toWire(await c.authorizations.create(js))
      case 'get_authorization': return toWire(await c.authorizations.get(a.authorization_id))
      case 'revoke': return toWire(await c.authorizations.revoke(a.authorization_id, { revokedBy: a.revoked_by, notes: a.notes }))
      case 'check': return toWire(await c.check(js))
      case 'approve_confirmation':
        return toWire(await c.confirmations.approve(a.confirm_nonce, { approved: a.approved, ttlSeconds: a.ttl_seconds }))
      case 'settle_budget': return toWire(await c.budget.settle(js))
      case 'fetch_signed': {
        const r = await c.receipts.fetchSigned(a.receipt_id, { pollIntervalMs: a.poll_interval_ms, timeoutMs: a.timeout_ms })
        return { receipt_id: r.receiptId, json: r.json, receipt: JSON.parse(r.json) }
      }
      case 'fetch_keys': {
        const keys = await c.keys.fetch(a.workspace_id)
        this.keys[step.save] = keys
        return { workspace_id: keys.workspaceId, fingerprints: keys.fingerprints() }
      }
      case 'verify_receipt': {
        const name = step.args.keys.replace(/^\$/, '')
        if (!this.keys[name]) throw new RunnerError(`no key set $${name}`)
        let text = a.receipt.json
        if (a.tamper) {
          if (!text.includes(a.tamper.find)) throw new RunnerError(`tamper: ${a.tamper.find} not in the receipt`)
          text = text.replace(a.tamper.find, () => a.tamper.replace)
        }
        return toWire(sdk.verifyReceipt(text, this.keys[name], { expectedWorkspaceId: a.expected_workspace_id }))
      }
      case 'from_email': return { user_id: sdk.identifiers.fromEmail(a.email, { pepper: a.pepper }) }
      case 'verify_webhook': {
        this.seen[a.seen] ??= new sdk.MemorySeenIds()
        const event = sdk.verifyWebhook(a.body, a.headers, a.secret, a.expected_workspace_id, { now: a.now, seen: this.seen[a.seen] })
        return toWire(event)
      }
      case 'rotate_signing_key': return toWire(await c.admin.signingKeys.rotate())
      case 'set_webhook': return toWire(await c.admin.webhook.set(a.url))
      case 'enroll_agent': {
        const admin = new sdk.Allowly({ apiKey: this.server.setupApiKey, baseUrl: this.server.baseUrl, allowInsecureHttp: true })
        const c = await admin.agents.enroll(a.agent_id)
        return { agent_id: c.agentId, binding_id: c.bindingId, key_id: c.keyId, workspace_id: c.workspaceId,
          credential_json: c.credentialJson() }
      }
      case 'mint_agent_token': {
        const c = sdk.AgentCredential.fromJson(a.credential)
        return { token: c.tokenAt(Math.floor(Date.now() / 1000) + (a.issued_at_offset_seconds ?? 0)) }
      }
      case 'create_member': {
        const m = await c.admin.members.create({ memberId: a.member_id, displayName: a.display_name })
        return { ...toWire(m), credential: m.credential }
      }
      case 'resolve_escalation':
        return toWire(await c.escalations.resolve(a.escalation_id, a.resolution, { note: a.note, resolvedBy: a.resolved_by }))
      case 'get_escalation_status': return toWire(await c.escalations.getStatus(a.escalation_id))
      case 'wait_for_escalation':
        return toWire(await c.escalations.waitFor(a.escalation_id, { timeoutMs: a.timeout_ms, pollIntervalMs: a.poll_interval_ms }))
      case 'sleep': return new Promise((r) => setTimeout(() => r(null), a.ms))
      default: throw new RunnerError(`unknown op ${step.op}`)
    }
  }

  async step(i, step) {
    const where = `step ${i} (${step.op})`
    const args = resolve(this.vars, step.args ?? {})
    let result
    try {
      result = await this.op(step, args)
    } catch (e) {
      if (!(e instanceof sdk.AllowlyError)) throw e
      if (!step.error) assert.fail(`${where}: unexpected error ${JSON.stringify(errorJson(e))}: ${e.message}`)
      const { fields = [], ...exp } = resolve(this.vars, step.error)
      const act = errorJson(e)
      match(exp, act, `${where} error`)
      const missing = fields.filter((f) => !act.fields.includes(f))
      assert.deepEqual(missing, [], `${where}: error fields ${act.fields} lack ${missing} (${e.message})`)
      return
    }
    if (step.error) assert.fail(`${where}: expected error ${JSON.stringify(step.error)}, got ${JSON.stringify(result)}`)
    if (step.expect) match(resolve(this.vars, step.expect), result, `${where} result`)
    if (step.save) this.vars[step.save] = result
  }
}

for (const file of files) {
  const scenario = JSON.parse(readFileSync(join(dir, file), 'utf8'))
  const skip = scenario.skip ?? scenario.skip_languages?.[LANGUAGE]
  test(`scenario ${scenario.name}`, { skip: skip ?? false }, async () => {
    // A scenario with `serve_args` gets a server of its own, started with those flags.
    const own = scenario.serve_args ? await startServer(scenario.serve_args) : null
    try {
      const run = own
        ? new Run(own, { ...env, base_url: own.baseUrl, workspace_id: own.workspaceId, setup_api_key: own.setupApiKey })
        : new Run(server, env)
      for (const [i, step] of scenario.steps.entries()) await run.step(i, step)
    } catch (e) {
      report[scenario.name] = { status: 'fail', reason: String(e.message).split('\n')[0].slice(0, 300) }
      throw e
    } finally {
      await own?.stop()
    }
    report[scenario.name] = { status: 'pass' }
  })
  if (skip) report[scenario.name] = { status: 'skip', reason: skip }
}
