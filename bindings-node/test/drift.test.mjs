// The committed generated files must be what the build generates (libsignal's `--verify` habit): `npm run build`
// rewrites native/index.d.ts and native/index.js, and this test fails if that changed anything git has.

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const pkg = fileURLToPath(new URL('..', import.meta.url))

test('committed native/index.d.ts and native/index.js equal the generated ones', (t) => {
  const inRepo = spawnSync('git', ['rev-parse', '--is-inside-work-tree'], { cwd: pkg, encoding: 'utf8' })
  if (inRepo.status !== 0) return t.skip('not a git checkout')
  const diff = spawnSync('git', ['diff', '--exit-code', '--', 'native/index.d.ts', 'native/index.js'], {
    cwd: pkg,
    encoding: 'utf8',
  })
  assert.equal(diff.status, 0, `generated files drifted; commit the output of \`npm run build\`:\n${diff.stdout}`)
  const tracked = spawnSync('git', ['ls-files', '--error-unmatch', 'native/index.d.ts', 'native/index.js'], { cwd: pkg })
  assert.equal(tracked.status, 0, 'native/index.d.ts and native/index.js must be committed')
})
