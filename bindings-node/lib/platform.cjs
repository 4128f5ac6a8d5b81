'use strict'
// Which native package a process needs and the error when it is missing; no native code is loaded by this file, so
// tests and the packaging scripts can use it without a binary. lib/native.cjs loads the addon through `loadNative`.
//
// The native addon is loaded through napi-rs's generated loader (native/index.js). That loader tries a local
// `allowly.<platform>.node` (a checkout after `npm run build`), then the platform package `<name>-<platform>` that npm
// installs as an optional dependency. When both are missing its error only says "Cannot find native binding"; a user
// needs to know which package is missing and why, so this file rethrows with the platform package named.

const pkg = require('../package.json')

/** The napi-rs platform suffix of this process (`linux-x64-gnu`, `darwin-arm64`, `win32-x64-msvc`, ...). */
function currentPlatform(proc = process) {
  if (proc.platform === 'linux') return `${proc.platform}-${proc.arch}-${isMusl(proc) ? 'musl' : 'gnu'}`
  if (proc.platform === 'win32') return `${proc.platform}-${proc.arch}-msvc`
  return `${proc.platform}-${proc.arch}`
}

/** glibc reports its version in Node's diagnostic report; musl does not (the generated loader's first check too). */
function isMusl(proc) {
  try {
    const report = proc.report && typeof proc.report.getReport === 'function' ? proc.report.getReport() : null
    return !(report && report.header && report.header.glibcVersionRuntime)
  } catch {
    return false
  }
}

/**
 * The error a user sees when no binary loaded. `platforms` are the platform suffixes published for this version;
 * `installed` says whether `<name>-<platform>` resolved (then it is there but failed to load, e.g. an older glibc).
 */
function missingBindingError({ name, version, platform, platforms, installed, cause }) {
  const wanted = `${name}-${platform}`
  let message
  if (!platforms.includes(platform)) {
    message =
      `${name} has no native binary for ${platform}: no ${wanted} package is published. ` +
      `Supported platforms: ${platforms.join(', ')}. Use a supported platform, or build the addon from a checkout ` +
      `(bindings-node: npm ci && npm run build:release, needs Rust).`
  } else if (installed) {
    message =
      `${name} could not load its native binary from ${wanted}: ${cause && cause.message ? failureOf(cause, wanted) : 'unknown error'}. ` +
      `Reinstall it (npm install ${wanted}@${version}); on Linux glibc the binary needs glibc 2.17 or newer.`
  } else {
    message =
      `${name} has no native binary for ${platform}: install ${wanted}@${version} next to it. npm installs it as ` +
      `an optional dependency of ${name}, but skips it with --omit=optional or a package-lock.json written on ` +
      `another platform; then remove node_modules and package-lock.json and run npm install again.`
  }
  const error = new Error(message)
  error.code = 'ERR_ALLOWLY_NATIVE_BINARY_MISSING'
  error.platformPackage = wanted
  if (cause) error.cause = cause
  return error
}

/**
 * napi's loader chains every attempt under `cause` (the WASI fallbacks too); the one that names the platform package
 * is its own failure (e.g. a missing GLIBC_ version or a damaged file), and its first line is what the user needs.
 */
function failureOf(error, wanted) {
  let found = null
  for (let e = error; e && e.message !== undefined && !found; e = e.cause) {
    if (String(e.message).includes(wanted)) found = e
  }
  return String((found || error).message).split('\n')[0]
}

/** The platform suffixes this version publishes: napi's target triples as napi-rs names their packages. */
function publishedPlatforms(targets = (pkg.napi && pkg.napi.targets) || []) {
  return targets.map(platformOfTriple)
}

function platformOfTriple(triple) {
  const [cpu, , os, abi] = triple.split('-')
  const arch = { x86_64: 'x64', aarch64: 'arm64', i686: 'ia32', armv7: 'arm' }[cpu] || cpu
  const platform = { linux: 'linux', darwin: 'darwin', windows: 'win32' }[os] || os
  return abi ? `${platform}-${arch}-${abi}` : `${platform}-${arch}`
}

function loadNative() {
  try {
    return require('../native/index.js')
  } catch (cause) {
    const platform = currentPlatform()
    let installed = false
    try {
      require.resolve(`${pkg.name}-${platform}/package.json`)
      installed = true
    } catch {}
    throw missingBindingError({
      name: pkg.name,
      version: pkg.version,
      platform,
      platforms: publishedPlatforms(),
      installed,
      cause,
    })
  }
}

module.exports = { currentPlatform, loadNative, missingBindingError, platformOfTriple, publishedPlatforms }
