#!/usr/bin/env bash
# Builds bindings-swift/AllowlyFFIC.xcframework (the AllowlyFFIC binary target of the root Package.swift) on macOS
# with Xcode: liballowly_ffi as a static library for macOS (arm64 + x86_64), iOS devices and the iOS simulator
# (arm64 + x86_64), each with the committed generated header and modulemap (Sources/AllowlyFFIC/include). Then zips it
# as $DIST/swift/AllowlyFFIC.xcframework.zip (DIST defaults to target/dist), the asset the release attaches and
# scripts/swift-package-release.py pins in Package.swift, and prints its checksum.
#
#   bindings-swift/scripts/build-xcframework.sh            # release build
#   PROFILE=debug bindings-swift/scripts/build-xcframework.sh
#
# Then, at the repository root, `ALLOWLY_SWIFT_LOCAL=1 swift build` / `swift test` use this local XCFramework
# (set ALLOWLY_BIN=<path to allowly> for the lifecycle test). Run by the release workflow's macOS job; not on Linux.
set -euo pipefail
[ "$(uname -s)" = Darwin ] || { echo "build-xcframework.sh needs macOS with Xcode (xcodebuild, lipo)" >&2; exit 1; }

here="$(cd "$(dirname "$0")/.." && pwd)"
repo="$(cd "$here/.." && pwd)"
profile="${PROFILE:-release}"
cargo_flag=$([ "$profile" = release ] && echo --release || true)
targets=(aarch64-apple-darwin x86_64-apple-darwin aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios)

cd "$repo"
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')"
rustup target add "${targets[@]}"
for t in "${targets[@]}"; do
  # The crate's lib is cdylib + rlib; the XCFramework wants a static archive, so ask for one just here.
  cargo rustc --locked -p allowly-swift --lib $cargo_flag --target "$t" --crate-type staticlib
done

out="$target_dir/xcframework"
rm -rf "$out" "$here/AllowlyFFIC.xcframework"
mkdir -p "$out/macos" "$out/ios-sim"
lib() { echo "$target_dir/$1/$profile/liballowly_ffi.a"; }
lipo -create "$(lib aarch64-apple-darwin)" "$(lib x86_64-apple-darwin)" -output "$out/macos/liballowly_ffi.a"
lipo -create "$(lib aarch64-apple-ios-sim)" "$(lib x86_64-apple-ios)" -output "$out/ios-sim/liballowly_ffi.a"

headers="$here/Sources/AllowlyFFIC/include"
xcodebuild -create-xcframework \
  -library "$out/macos/liballowly_ffi.a" -headers "$headers" \
  -library "$(lib aarch64-apple-ios)" -headers "$headers" \
  -library "$out/ios-sim/liballowly_ffi.a" -headers "$headers" \
  -output "$here/AllowlyFFIC.xcframework"
echo "built $here/AllowlyFFIC.xcframework"

# ditto keeps the framework's symlinks and puts AllowlyFFIC.xcframework/ at the top of the zip, where SwiftPM looks.
dist="${DIST:-target/dist}"
case "$dist" in /*) ;; *) dist="$repo/$dist" ;; esac
dist="$dist/swift"
mkdir -p "$dist"
rm -f "$dist/AllowlyFFIC.xcframework.zip"
(cd "$here" && ditto -c -k --keepParent AllowlyFFIC.xcframework "$dist/AllowlyFFIC.xcframework.zip")
echo "zipped $dist/AllowlyFFIC.xcframework.zip (checksum $(python3 "$repo/scripts/swift-package-release.py" checksum "$dist/AllowlyFFIC.xcframework.zip"))"
