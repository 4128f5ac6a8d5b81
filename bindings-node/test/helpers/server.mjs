// The real `allowly serve --dev` (target/debug/allowly, built with cargo if missing) on a temp SQLite file, the same
// way the Rust tests start it (tests/e2e/tests/common/mod.rs). Stopped by `stop()` and on process exit.

import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')
const targetDir = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(repo, 'target')
const binary = join(targetDir, 'debug', process.platform === 'win32' ? 'allowly.exe' : 'allowly')

/** `ALLOWLY_BIN` picks another build (the benchmark uses a release one); otherwise the debug binary, built if missing. */
export function allowlyBinary() {
  if (process.env.ALLOWLY_BIN) return resolve(process.env.ALLOWLY_BIN)
  if (!existsSync(binary)) {
    const cargo = process.env.CARGO ?? 'cargo'
    const built = spawnSync(cargo, ['build', '--locked', '-p', 'allowly-cli'], { cwd: repo, stdio: 'inherit' })
    if (built.status !== 0) throw new Error(`cargo build -p allowly-cli failed (${built.status})`)
  }
  return binary
}

/** `extraArgs` are more `allowly serve` flags (a scenario's `serve_args`). */
export async function startServer(extraArgs = []) {
  const dir = mkdtempSync(join(tmpdir(), 'allowly-node-'))
  const ready = join(dir, 'ready.json')
  const log = join(dir, 'server.log')
  const out = openSync(log, 'w')
  const env = { ...process.env }
  delete env.ALLOWLY_MASTER_KEY
  const child = spawn(
    allowlyBinary(),
    ['serve', '--dev', '--db', `sqlite://${join(dir, 'test.db')}`, '--listen', '127.0.0.1:0', '--ready-file', ready, ...extraArgs],
    { env, stdio: ['ignore', out, out] },
  )
  let exited = null
  child.on('exit', (code, signal) => (exited = code ?? signal))
  const kill = () => child.kill('SIGKILL')
  process.once('exit', kill)
  const deadline = Date.now() + 60_000
  while (!(existsSync(ready) && statSync(ready).size > 0)) {
    if (exited !== null) throw new Error(`allowly serve exited (${exited}); log:\n${readFileSync(log, 'utf8')}`)
    if (Date.now() > deadline) throw new Error(`no ready file within 60 s; log:\n${readFileSync(log, 'utf8')}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  const info = JSON.parse(readFileSync(ready, 'utf8'))
  return {
    baseUrl: info.base_url,
    workspaceId: info.workspace_id,
    runtimeApiKey: info.runtime_api_key,
    setupApiKey: info.setup_api_key,
    /** The demo edition the dev server publishes (`{ policy_id, policy_version }`). */
    policy: info.policy,
    log: () => readFileSync(log, 'utf8'),
    async stop() {
      process.removeListener('exit', kill)
      if (exited === null) {
        const gone = new Promise((r) => child.once('exit', r))
        child.kill('SIGTERM')
        await gone
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
