// Packs the npm tarballs from release builds of the addon: one platform package per binary given, and (with --main)
// the main package with every platform package as an optional dependency at its own version. Both make npm-packages
// (the binaries built here) and the release workflow (the binaries of every runner) pack through this script, so the
// tarballs a user downloads are made one way. Each `npm pack` runs the package's prepack guard (scripts/prepack.cjs).
//
//   node scripts/npm-package.mjs --out DIR [--main] [--all] [--repository URL] [path/to/allowly.<platform>.node ...]
//
// Everything is packed from a staged copy under DIR/.stage laid out like bindings-node (so each prepack finds
// scripts/prepack.cjs where the committed manifests say): the checkout is never written to. The staged main package
// gets its optionalDependencies, which name packages that exist only once published (a committed list would break
// `npm ci` in this checkout; napi-rs's `pre-publish` adds them at publish time too). --all (the release) refuses to
// pack unless every napi target has its binary. With --repository URL (the
// release workflow passes its GitHub repository) every staged manifest names it, which `npm publish --provenance`
// requires.

import { execFileSync } from 'node:child_process'
import { copyFileSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { platformOfTriple } = require('../lib/platform.cjs')

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const license = resolve(pkgDir, '../LICENSE')
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'))
const binaryName = pkg.napi.binaryName

function usage(message) {
  console.error(`${message}\nusage: node scripts/npm-package.mjs --out DIR [--main] [--all] [--repository URL] [allowly.<platform>.node ...]`)
  process.exit(2)
}

const args = process.argv.slice(2)
let out = null
let main = false
let repository = null
let all = false
const binaries = []
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--out') out = args[++i]
  else if (args[i] === '--main') main = true
  else if (args[i] === '--repository') repository = args[++i]
  else if (args[i] === '--all') all = true
  else if (args[i].startsWith('--')) usage(`unknown option ${args[i]}`)
  else binaries.push(args[i])
}
if (!out) usage('--out is required')
if (!main && binaries.length === 0) usage('nothing to pack: give --main and/or binaries')
out = resolve(out)
mkdirSync(out, { recursive: true })

/** `npm pack` in `dir` into `out`; prints and returns the tarball's file name. */
function pack(dir) {
  const result = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', out], { cwd: dir, encoding: 'utf8' }))
  const file = result[0].filename
  console.log(`${join(out, file)} (${result[0].files.length} files, ${result[0].size} bytes)`)
  return file
}

const platforms = pkg.napi.targets.map(platformOfTriple)
const stage = join(out, '.stage', pkg.name)
if (all) {
  const given = new Set(binaries.map((b) => basename(b)))
  const missing = platforms.filter((p) => !given.has(`${binaryName}.${p}.node`))
  if (missing.length) usage(`--all: no binary for ${missing.join(', ')}`)
}
rmSync(join(out, '.stage'), { recursive: true, force: true })

/** Writes a staged manifest: the committed one plus `extra`, with the repository when one was given. */
function writeManifest(dir, manifest, extra = {}) {
  const staged = { ...manifest, ...extra }
  if (repository) staged.repository = { type: 'git', url: repository }
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(staged, null, 2)}\n`)
}

mkdirSync(join(stage, 'native'), { recursive: true })
for (const part of ['lib', 'scripts', 'README.md', 'native/index.js', 'native/index.d.ts']) {
  cpSync(join(pkgDir, part), join(stage, part), { recursive: true })
}
copyFileSync(license, join(stage, 'LICENSE'))
const { devDependencies, ...published } = pkg
writeManifest(stage, published, {
  optionalDependencies: Object.fromEntries(platforms.map((p) => [`${pkg.name}-${p}`, pkg.version])),
})

for (const binary of binaries) {
  const file = basename(binary)
  const match = file.match(new RegExp(`^${binaryName}\\.(.+)\\.node$`))
  if (!match || !platforms.includes(match[1])) {
    usage(`${binary}: expected ${binaryName}.<platform>.node with a platform of napi.targets (${platforms.join(', ')})`)
  }
  const dir = join(stage, 'npm', match[1])
  mkdirSync(dir, { recursive: true })
  cpSync(join(pkgDir, 'npm', match[1]), dir, { recursive: true })
  writeManifest(dir, JSON.parse(readFileSync(join(pkgDir, 'npm', match[1], 'package.json'), 'utf8')))
  copyFileSync(resolve(binary), join(dir, file))
  copyFileSync(license, join(dir, 'LICENSE'))
  pack(dir)
}

if (main) pack(stage)
rmSync(join(out, '.stage'), { recursive: true, force: true })
