#!/usr/bin/env bash
# Prints a directory holding `node` and `npm` of version 20 or newer, installing Node if needed, so `make test-node`
# runs on a fresh Debian machine (CI) as well as on a developer's:
#
#   PATH="$(scripts/ensure-node.sh):$PATH" npm ci
#
# Order: a `node` already on PATH (>= 20); one installed earlier by this script (.tools/node); Debian's `nodejs` +
# `npm` packages when apt offers >= 20 (Debian 13); otherwise the official Linux tarball from nodejs.org, checked
# against the release's SHASUMS256.txt and unpacked into .tools/node (gitignored). Idempotent: a second run finds the
# first one's Node. Progress goes to stderr; stdout is only the directory.
set -euo pipefail

MIN_MAJOR=20
NODE_VERSION=${ALLOWLY_NODE_VERSION:-v20.20.2}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LOCAL="$ROOT/.tools/node"

major_of() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

usable() {
    local node=$1
    [ -x "$node" ] && [ -x "$(dirname "$node")/npm" ] && [ "$(major_of "$node")" -ge "$MIN_MAJOR" ]
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else return 1; fi
}

if command -v node >/dev/null 2>&1 && usable "$(command -v node)"; then
    dirname "$(command -v node)"
    exit 0
fi
if usable "$LOCAL/bin/node"; then
    echo "$LOCAL/bin"
    exit 0
fi

if command -v apt-get >/dev/null 2>&1; then
    as_root apt-get update -qq >&2 || true
    candidate=$(apt-cache policy nodejs 2>/dev/null | awk '/Candidate:/ {print $2}' | sed -E 's/^[0-9]+://')
    if [ -n "$candidate" ] && [ "$candidate" != "(none)" ] && [ "${candidate%%.*}" -ge "$MIN_MAJOR" ] 2>/dev/null; then
        echo "ensure-node: installing Debian's nodejs $candidate" >&2
        if as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >&2 && usable /usr/bin/node; then
            echo /usr/bin
            exit 0
        fi
    fi
    # The tarball needs curl and xz.
    if ! command -v curl >/dev/null 2>&1 || ! command -v xz >/dev/null 2>&1; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl xz-utils ca-certificates >&2
    fi
fi

case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "ensure-node: no Node $MIN_MAJOR+ and no official build for $(uname -m); install Node $MIN_MAJOR+ yourself" >&2; exit 1 ;;
esac
os=$(uname -s | tr '[:upper:]' '[:lower:]')
name="node-$NODE_VERSION-$os-$arch.tar.xz"
base="https://nodejs.org/dist/$NODE_VERSION"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "ensure-node: downloading $base/$name" >&2
curl -fsSL --retry 3 -o "$tmp/$name" "$base/$name"
curl -fsSL --retry 3 -o "$tmp/SHASUMS256.txt" "$base/SHASUMS256.txt"
(cd "$tmp" && grep " $name\$" SHASUMS256.txt | sha256sum -c - >&2)
rm -rf "$LOCAL.partial"
mkdir -p "$LOCAL.partial"
tar -xJf "$tmp/$name" -C "$LOCAL.partial" --strip-components=1
rm -rf "$LOCAL"
mv "$LOCAL.partial" "$LOCAL"
usable "$LOCAL/bin/node" || { echo "ensure-node: the unpacked Node does not run" >&2; exit 1; }
echo "$LOCAL/bin"
