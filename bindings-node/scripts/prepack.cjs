'use strict'
// `prepack` of the main package and of every platform package (npm/<platform>): refuses to pack what a user must never
// download. The main package carries no native binary (each platform package carries its own, so an install fetches
// one binary, not all of them) and lists every platform package as an optional dependency at its own version; a
// platform package carries exactly its `.node`, built for its CPU, release and stripped (a debug build is ~95 MB).
// npm itself decides what goes in a tarball, so the file list is npm's own (`npm pack --dry-run`).
//
//   node scripts/prepack.cjs [dir]     (dir: the package to check; default the current directory)

const { execFileSync } = require('node:child_process')
const { closeSync, existsSync, openSync, readFileSync, readSync } = require('node:fs')
const { join, resolve } = require('node:path')

const { platformOfTriple } = require('../lib/platform.cjs')

/** ELF e_machine of each napi cpu name: a binary for another CPU in a package is refused. */
const ELF_MACHINE = { x64: 62, arm64: 183, ia32: 3, arm: 40 }

/** What `npm pack` would put in the tarball, as npm computes it (scripts off, so this guard does not run again). */
function packedFiles(dir) {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  return JSON.parse(out)[0].files.map((f) => f.path)
}

/** Problems of the main package; empty when it may be packed. */
function checkMain(dir, pkg, files) {
  const problems = files.filter((f) => f.endsWith('.node')).map((f) => `ships a native binary (${f}): the main package carries none, each platform package carries its own`)
  const targets = (pkg.napi && pkg.napi.targets) || []
  const optional = pkg.optionalDependencies || {}
  const wrong = targets
    .map((triple) => `${pkg.name}-${platformOfTriple(triple)}`)
    .filter((name) => optional[name] !== pkg.version)
  if (wrong.length) {
    problems.push(
      `optionalDependencies must list every platform package at ${pkg.version}; missing or at another version: ` +
        `${wrong.join(', ')} (pack with \`make npm-packages\`, which writes them)`,
    )
  }
  for (const needed of ['lib/index.cjs', 'lib/index.d.ts', 'native/index.js']) {
    if (!files.includes(needed)) problems.push(`does not ship ${needed}`)
  }
  return problems
}

/** Problems of a platform package (package.json `main` is its `.node`); empty when it may be packed. */
function checkPlatform(dir, pkg, listFiles) {
  const binary = pkg.main
  const problems = []
  const main = readJson(join(dir, '../../package.json'))
  if (main && main.napi && main.version !== pkg.version) {
    problems.push(`version ${pkg.version} differs from ${main.name} ${main.version}: run napi version`)
  }
  // The binary first: npm's file list compresses the whole tarball, a minute for a debug build.
  if (!existsSync(join(dir, binary))) {
    return [...problems, `has no ${binary}: copy the release build into ${dir} first (make npm-packages)`]
  }
  if (readHead(join(dir, binary)).subarray(0, 4).toString('latin1') === '\x7fELF') {
    problems.push(...checkElf(join(dir, binary), pkg))
  }
  if (problems.length) return problems
  const files = listFiles()
  const others = files.filter((f) => f.endsWith('.node') && f !== binary)
  if (others.length) problems.push(`ships other binaries than its own: ${others.join(', ')}`)
  if (!files.includes(binary)) problems.push(`does not ship ${binary}: check files in its package.json`)
  return problems
}

function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'))
  } catch {
    return null
  }
}

function readHead(path) {
  const fd = openSync(path, 'r')
  try {
    const buf = Buffer.alloc(64)
    readSync(fd, buf, 0, 64, 0)
    return buf
  } finally {
    closeSync(fd)
  }
}

/**
 * A Linux binary: the CPU it was built for, and no debug sections or symbol table (a release build with `--strip`).
 * Only 64-bit little-endian ELF is read, the only kind the Linux targets produce.
 */
function checkElf(path, pkg) {
  const elf = readFileSync(path)
  if (elf[4] !== 2 || elf[5] !== 1) return [`${pkg.main} is not a 64-bit little-endian ELF file`]
  const problems = []
  const machine = elf.readUInt16LE(18)
  const cpu = (pkg.cpu || [])[0]
  if (ELF_MACHINE[cpu] !== undefined && machine !== ELF_MACHINE[cpu]) {
    problems.push(`${pkg.main} is built for ELF machine ${machine}, not ${cpu} (${ELF_MACHINE[cpu]})`)
  }
  const shoff = Number(elf.readBigUInt64LE(40))
  const shentsize = elf.readUInt16LE(58)
  const shnum = elf.readUInt16LE(60)
  const shstrndx = elf.readUInt16LE(62)
  const names = elf.subarray(Number(elf.readBigUInt64LE(shoff + shstrndx * shentsize + 24)))
  const sections = []
  for (let i = 0; i < shnum; i++) {
    const nameOffset = elf.readUInt32LE(shoff + i * shentsize)
    sections.push(names.subarray(nameOffset, names.indexOf(0, nameOffset)).toString('latin1'))
  }
  const debug = sections.filter((s) => s.startsWith('.debug_') || s === '.symtab')
  if (debug.length) {
    problems.push(`${pkg.main} is not a stripped release build (has ${debug.join(', ')}): build with napi build --release --strip`)
  }
  return problems
}

function check(dir) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  const isPlatform = typeof pkg.main === 'string' && pkg.main.endsWith('.node')
  const problems = isPlatform ? checkPlatform(dir, pkg, () => packedFiles(dir)) : checkMain(dir, pkg, packedFiles(dir))
  return { name: pkg.name, problems }
}

module.exports = { check, checkElf }

if (require.main === module) {
  const { name, problems } = check(resolve(process.argv[2] || '.'))
  if (problems.length) {
    console.error(`refusing to pack ${name}:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    process.exit(1)
  }
}
