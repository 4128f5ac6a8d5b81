// The npm packaging rules: the error a user gets when the platform package is missing (loaded for real, in a copy of
// the package without any binary), the prepack guard of the main and the platform packages, and the committed
// platform package manifests (npm/<platform>, from `napi create-npm-dirs`).

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'))
const { currentPlatform, missingBindingError, platformOfTriple, publishedPlatforms } = require('../lib/platform.cjs')

function tempDir(t) {
  const dir = mkdtempSync(join(tmpdir(), 'allowly-npm-packaging-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** The package as npm would install it from the main tarball, with no local `.node` and no platform package. */
function copyWithoutBinary(t) {
  const dir = join(tempDir(t), 'node_modules', '@allowly', 'sdk')
  mkdirSync(join(dir, 'native'), { recursive: true })
  cpSync(join(pkgDir, 'lib'), join(dir, 'lib'), { recursive: true })
  for (const f of ['package.json', 'native/index.js', 'native/index.d.ts']) copyFileSync(join(pkgDir, f), join(dir, f))
  return dir
}

function requireIn(dir, entry) {
  const env = { ...process.env }
  delete env.NAPI_RS_NATIVE_LIBRARY_PATH
  return spawnSync(process.execPath, ['-e', `require(${JSON.stringify(join(dir, entry))})`], { env, encoding: 'utf8' })
}

test('without its platform package, require names the package to install', (t) => {
  const dir = copyWithoutBinary(t)
  const platform = currentPlatform()
  for (const entry of ['lib/index.cjs', 'lib/mcp.cjs']) {
    const run = requireIn(dir, entry)
    assert.notEqual(run.status, 0, `${entry} loaded without a binary`)
    assert.match(
      run.stderr,
      new RegExp(`${pkg.name} has no native binary for ${platform}: install ${pkg.name}-${platform}@${pkg.version.replace(/\./g, '\\.')} next to it`),
    )
    assert.match(run.stderr, /--omit=optional/)
  }
})

test('a platform package that is installed but does not load is named with its own failure', (t) => {
  const dir = copyWithoutBinary(t)
  const platform = currentPlatform()
  const platformDir = join(dir, '..', '..', `${pkg.name}-${platform}`)
  mkdirSync(platformDir, { recursive: true })
  const binary = `${pkg.napi.binaryName}.${platform}.node`
  writeFileSync(join(platformDir, 'package.json'), JSON.stringify({ name: `${pkg.name}-${platform}`, version: pkg.version, main: binary }))
  writeFileSync(join(platformDir, binary), 'not a shared object')
  const run = requireIn(dir, 'lib/index.cjs')
  assert.notEqual(run.status, 0)
  assert.match(run.stderr, new RegExp(`${pkg.name} could not load its native binary from ${pkg.name}-${platform}: .*${binary.replace(/\./g, '\\.')}`))
  assert.match(run.stderr, /Reinstall it \(npm install /)
})

test('a platform without a published package gets the supported list', () => {
  const error = missingBindingError({
    name: 'openallowly',
    version: '1.2.3',
    platform: 'freebsd-x64',
    platforms: publishedPlatforms(),
    installed: false,
    cause: new Error('Cannot find native binding'),
  })
  assert.equal(error.code, 'ERR_ALLOWLY_NATIVE_BINARY_MISSING')
  assert.equal(error.platformPackage, 'openallowly-freebsd-x64')
  assert.match(error.message, /^openallowly has no native binary for freebsd-x64: no openallowly-freebsd-x64 package is published/)
  assert.match(error.message, /Supported platforms: linux-x64-gnu, linux-arm64-gnu, linux-x64-musl, linux-arm64-musl, darwin-x64/)
  assert.equal(error.cause.message, 'Cannot find native binding')
})

test('napi target triples map to napi-rs package suffixes', () => {
  assert.deepEqual(
    ['x86_64-unknown-linux-gnu', 'aarch64-unknown-linux-musl', 'aarch64-apple-darwin', 'x86_64-pc-windows-msvc'].map(platformOfTriple),
    ['linux-x64-gnu', 'linux-arm64-musl', 'darwin-arm64', 'win32-x64-msvc'],
  )
})

test('every napi target has a committed platform package at the main version, guarded by prepack', () => {
  for (const triple of pkg.napi.targets) {
    const platform = platformOfTriple(triple)
    const manifest = JSON.parse(readFileSync(join(pkgDir, 'npm', platform, 'package.json'), 'utf8'))
    assert.equal(manifest.name, `${pkg.name}-${platform}`)
    assert.equal(manifest.version, pkg.version)
    assert.equal(manifest.main, `${pkg.napi.binaryName}.${platform}.node`)
    assert.deepEqual(manifest.files, [manifest.main])
    assert.equal(manifest.scripts.prepack, 'node ../../scripts/prepack.cjs')
    assert.deepEqual(manifest.engines, pkg.engines)
    assert.ok(manifest.os.length === 1 && manifest.cpu.length === 1, `${platform}: os and cpu`)
    if (platform.startsWith('linux-')) assert.deepEqual(manifest.libc, [platform.endsWith('-musl') ? 'musl' : 'glibc'])
  }
  assert.equal(pkg.scripts.prepack, 'node scripts/prepack.cjs')
  assert.ok(!pkg.files.some((f) => f.includes('.node')), 'the main package lists no native binary in files')
})

function prepack(dir) {
  return spawnSync(process.execPath, [join(pkgDir, 'scripts/prepack.cjs'), dir], { encoding: 'utf8' })
}

test('prepack refuses the main package without its optional platform packages', () => {
  const run = prepack(pkgDir)
  assert.equal(run.status, 1)
  assert.match(run.stderr, new RegExp(`refusing to pack ${pkg.name}:`))
  assert.match(run.stderr, new RegExp(`missing or at another version: ${pkg.name}-linux-x64-gnu, `))
})

/** npm/linux-x64-gnu copied next to a copy of the main package.json, as prepack sees it in the checkout. */
function platformCopy(t) {
  const root = tempDir(t)
  copyFileSync(join(pkgDir, 'package.json'), join(root, 'package.json'))
  const dir = join(root, 'npm', 'linux-x64-gnu')
  mkdirSync(dir, { recursive: true })
  copyFileSync(join(pkgDir, 'npm/linux-x64-gnu/package.json'), join(dir, 'package.json'))
  return dir
}

test('prepack refuses a platform package without its binary', (t) => {
  const run = prepack(platformCopy(t))
  assert.equal(run.status, 1)
  assert.match(run.stderr, /refusing to pack openallowly-linux-x64-gnu:\n {2}- has no allowly\.linux-x64-gnu\.node/)
})

test('prepack refuses a platform package carrying a debug build', (t) => {
  // `npm run build` (make test-node runs it first) leaves the debug addon here: exactly what must never ship.
  const debugBuild = join(pkgDir, 'native', 'allowly.linux-x64-gnu.node')
  if (!existsSync(debugBuild)) return t.skip('no debug build in native/ (run npm run build first)')
  const dir = platformCopy(t)
  copyFileSync(debugBuild, join(dir, 'allowly.linux-x64-gnu.node'))
  const run = prepack(dir)
  assert.equal(run.status, 1)
  assert.match(run.stderr, /allowly\.linux-x64-gnu\.node is not a stripped release build \(has [^)]*\.debug_info/)
})

test('prepack refuses a binary built for another CPU', (t) => {
  const debugBuild = join(pkgDir, 'native', 'allowly.linux-x64-gnu.node')
  if (!existsSync(debugBuild)) return t.skip('no debug build in native/ (run npm run build first)')
  const root = dirname(dirname(platformCopy(t)))
  const dir = join(root, 'npm', 'linux-arm64-gnu')
  mkdirSync(dir, { recursive: true })
  copyFileSync(join(pkgDir, 'npm/linux-arm64-gnu/package.json'), join(dir, 'package.json'))
  copyFileSync(debugBuild, join(dir, 'allowly.linux-arm64-gnu.node'))
  const run = prepack(dir)
  assert.equal(run.status, 1)
  assert.match(run.stderr, /allowly\.linux-arm64-gnu\.node is built for ELF machine 62, not arm64 \(183\)/)
})
