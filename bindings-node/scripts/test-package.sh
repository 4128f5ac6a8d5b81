#!/usr/bin/env bash
# The npm tarballs as a user gets them: a fresh npm project in a temp dir, whose PATH holds only node, npm and sh (no
# cargo or rustc reachable, CARGO_HOME and RUSTUP_HOME pointing nowhere), installs the main tarball under the alias
# @allowly/sdk plus the platform tarball, then runs against a real `allowly serve --dev`:
#   1. README.md's TypeScript quick start, compiled as written with tsc (typescript from the registry);
#   2. the seed walkthrough of the test suite (test/walkthrough.test.mjs), importing @allowly/sdk;
#   3. in a second project with only the main tarball: require fails naming the platform package to install.
# The registry is the only network use (typescript, @types/node; the other platforms' packages are looked up and
# skipped as optional).
#
#   scripts/test-package.sh MAIN.tgz PLATFORM.tgz ALLOWLY_BINARY
set -euo pipefail

main_tgz=$(realpath "$1")
platform_tgz=$(realpath "$2")
allowly_bin=$(realpath "$3")
pkg_dir=$(cd "$(dirname "$0")/.." && pwd)
repo=$(cd "$pkg_dir/.." && pwd)
name=$(node -p 'require(process.argv[1]).name' "$pkg_dir/package.json")
version=$(node -p 'require(process.argv[1]).version' "$pkg_dir/package.json")
platform=$(node -p 'require(process.argv[1]).currentPlatform()' "$pkg_dir/lib/platform.cjs")

work=$(mktemp -d "${TMPDIR:-/tmp}/allowly-npm-package.XXXXXX")
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# A bin dir with node, npm and sh only: /usr/bin, where Debian's cargo lives, is not on PATH.
mkdir -p "$work/bin"
ln -s "$(realpath "$(command -v node)")" "$work/bin/node"
ln -s "$(realpath "$(command -v npm)")" "$work/bin/npm"
ln -s "$(realpath /bin/sh)" "$work/bin/sh"
clean_env=(env -i HOME="$HOME" PATH="$work/bin" CARGO_HOME="$work/no-cargo" RUSTUP_HOME="$work/no-rustup"
  TMPDIR="${TMPDIR:-/tmp}" npm_config_cache="${npm_config_cache:-$HOME/.npm}" npm_config_update_notifier=false)
# The registry must stay reachable as configured (a CI proxy or mirror); nothing else of the caller's environment.
for var in HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy npm_config_registry NODE_EXTRA_CA_CERTS; do
  [ -n "${!var:-}" ] && clean_env+=("$var=${!var}")
done
for tool in cargo rustc rustup; do
  if "${clean_env[@]}" sh -c "command -v $tool" >/dev/null 2>&1; then
    echo "FAIL: $tool is reachable in the clean environment" >&2
    exit 1
  fi
done

# The user's project: the alias install of the walkthrough, the platform package npm would pick, tsc.
app="$work/app"
mkdir -p "$app/test/helpers"
printf '{ "name": "walkthrough-app", "private": true, "type": "module" }\n' >"$app/package.json"
(cd "$app" && "${clean_env[@]}" npm install --no-audit --no-fund --loglevel=error \
  "$platform_tgz" "@allowly/sdk@file:$main_tgz" typescript@5.9.3 @types/node@20.19.43)
installed=$(cd "$app" && "${clean_env[@]}" node -p 'require("@allowly/sdk/package.json").name + "@" + require("@allowly/sdk/package.json").version')
[ "$installed" = "$name@$version" ] || { echo "FAIL: @allowly/sdk resolves to $installed, not $name@$version" >&2; exit 1; }
echo "installed $name@$version as @allowly/sdk with $name-$platform, no Rust on PATH"

# 1. README.md's TypeScript quick start, as written (the first ```ts block under "## TypeScript").
awk '/^## TypeScript/ {section=1} section && /^```ts/ {grab=1; next} grab && /^```/ {exit} grab {print}' \
  "$repo/README.md" >"$app/quickstart.ts"
[ -s "$app/quickstart.ts" ] || { echo "FAIL: no TypeScript block under '## TypeScript' in README.md" >&2; exit 1; }
cat >"$app/tsconfig.json" <<'JSON'
{ "compilerOptions": { "strict": true, "target": "ES2022", "module": "NodeNext", "moduleResolution": "NodeNext",
  "types": ["node"], "skipLibCheck": false, "outDir": "dist" }, "files": ["quickstart.ts"] }
JSON
(cd "$app" && "${clean_env[@]}" node node_modules/typescript/bin/tsc -p tsconfig.json)

db_dir="$work/server"
mkdir -p "$db_dir"
"$allowly_bin" serve --dev --db "sqlite://$db_dir/test.db" --listen 127.0.0.1:0 --ready-file "$db_dir/ready.json" \
  >"$db_dir/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 600); do
  [ -s "$db_dir/ready.json" ] && break
  kill -0 "$server_pid" 2>/dev/null || { echo "FAIL: allowly serve exited:" >&2; cat "$db_dir/server.log" >&2; exit 1; }
  sleep 0.1
done
[ -s "$db_dir/ready.json" ] || { echo "FAIL: allowly serve wrote no ready file" >&2; cat "$db_dir/server.log" >&2; exit 1; }
read -r base_url runtime_key < <(node -e 'const r = require(process.argv[1]); console.log(r.base_url, r.runtime_api_key)' "$db_dir/ready.json")

out=$(cd "$app" && "${clean_env[@]}" ALLOWLY_KEY="$runtime_key" ALLOWLY_BASE_URL="$base_url" \
  ALLOWLY_PII_PEPPER=package-test-pepper node dist/quickstart.js)
echo "$out"
grep -qx 'allow scope_granted' <<<"$out" || { echo "FAIL: the quick start did not print 'allow scope_granted'" >&2; exit 1; }
grep -q ' is genuine$' <<<"$out" || { echo "FAIL: the quick start did not verify its receipt" >&2; exit 1; }
echo "README TypeScript quick start: ok"

# 2. The seed walkthrough of the test suite, importing the alias as the seed does; it starts its own server.
sed -E "s#from '(openallowly|@allowly/sdk)'#from '@allowly/sdk'#" "$pkg_dir/test/walkthrough.test.mjs" >"$app/test/walkthrough.test.mjs"
cp "$pkg_dir/test/helpers/server.mjs" "$app/test/helpers/server.mjs"
(cd "$app" && "${clean_env[@]}" ALLOWLY_BIN="$allowly_bin" node --test test/walkthrough.test.mjs)

# 3. Only the main tarball (the platform package omitted as --omit=optional would): the error names what is missing.
bare="$work/bare"
mkdir -p "$bare"
printf '{ "name": "bare-app", "private": true }\n' >"$bare/package.json"
(cd "$bare" && "${clean_env[@]}" npm install --no-audit --no-fund --loglevel=error --omit=optional "@allowly/sdk@file:$main_tgz")
if err=$(cd "$bare" && "${clean_env[@]}" node -e 'require("@allowly/sdk")' 2>&1); then
  echo "FAIL: @allowly/sdk loaded without its platform package" >&2
  exit 1
fi
expected="$name has no native binary for $platform: install $name-$platform@$version next to it"
grep -qF "$expected" <<<"$err" || { echo "FAIL: expected '$expected' in:" >&2; echo "$err" >&2; exit 1; }
echo "missing platform package: $expected"
echo "test-npm-package: ok"
