// The README's examples import "@allowly/sdk", as users write after `npm install @allowly/sdk@npm:openallowly`: that
// install puts this package at node_modules/@allowly/sdk. The link made here is the same thing for this checkout, so
// the examples run exactly as shown (node_modules is gitignored and `npm ci` clears it, hence made on every run).

import { mkdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export function linkReadmeAlias() {
  const scope = fileURLToPath(new URL('../../node_modules/@allowly/', import.meta.url))
  mkdirSync(scope, { recursive: true })
  const link = `${scope}sdk`
  try {
    if (readlinkSync(link) === '../..') return
  } catch {}
  rmSync(link, { recursive: true, force: true })
  symlinkSync('../..', link, 'dir')
}
