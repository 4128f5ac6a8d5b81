#!/usr/bin/env bash
# Source this to cross-build for aarch64-unknown-linux-gnu on an x86_64 Debian 12 machine:
#   . scripts/aarch64-env.sh && "$AARCH64_CARGO" build --target aarch64-unknown-linux-gnu ...
#
# Why not rustup: rustup cannot download other targets on these machines, while Debian's rustc-web 1.96 ships the
# aarch64 standard library as a package (libstd-rust-web-dev:arm64). That rustc must be the one cargo calls, so
# AARCH64_CARGO runs Debian's cargo with RUSTC pointing at Debian's rustc; the host's rustup toolchain is left alone.
# Binaries link with aarch64-linux-gnu-gcc unless a caller links with zig (glibc 2.17 pinning) instead, and run under
# `qemu-aarch64 -L /usr/aarch64-linux-gnu` (qemu 7.2 hangs once a program starts a thread: single-threaded only).
# Installs the Debian packages when they are missing (apt; root or sudo).

_allowly_aarch64_ready() {
  [ -x /usr/bin/rustc ] && [ -d /usr/lib/rustlib/aarch64-unknown-linux-gnu ] &&
    command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 && command -v qemu-aarch64 >/dev/null 2>&1
}

if ! _allowly_aarch64_ready; then
  echo "installing the aarch64 cross toolchain from Debian (rustc-web, libstd-rust-web-dev:arm64, gcc-aarch64-linux-gnu, qemu-user)" >&2
  _sudo=$([ "$(id -u)" = 0 ] || echo sudo)
  $_sudo dpkg --add-architecture arm64
  $_sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $_sudo apt-get install -y -qq \
    rustc-web cargo-web libstd-rust-web-dev:arm64 gcc-aarch64-linux-gnu qemu-user >/dev/null
  _allowly_aarch64_ready || { echo "aarch64 cross toolchain still missing after apt" >&2; return 1 2>/dev/null || exit 1; }
fi

export AARCH64_RUSTC=/usr/bin/rustc
# `env RUSTC=...` rather than an exported RUSTC, so the caller's own host builds keep using rustup's toolchain.
export AARCH64_CARGO="env RUSTC=/usr/bin/rustc /usr/bin/cargo"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=${CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER:-aarch64-linux-gnu-gcc}
export AARCH64_QEMU="qemu-aarch64 -L /usr/aarch64-linux-gnu"
