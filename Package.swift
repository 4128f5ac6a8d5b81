// swift-tools-version:5.9
// The Allowly SDK for Swift. It sits at the repository root because SwiftPM resolves a package by its repository's
// root; the sources live in bindings-swift/: the UniFFI-generated module (AllowlyFFI, with the C header and modulemap
// of AllowlyFFIC), the idiomatic layer (Allowly), the MCP middleware (AllowlyMCP) and the tests.
//
// AllowlyFFIC is liballowly_ffi as an XCFramework (static, macOS + iOS + iOS simulator):
// - by default, the zip attached to the GitHub release below, pinned by its SHA-256. The release workflow rewrites
//   `releasedFFI` with scripts/swift-package-release.py before it tags, so every tag names its own zip; between
//   releases it names the last release. Until the first release the checksum is all zeros: nothing is published yet,
//   and SwiftPM refuses to build rather than use an unpinned binary.
// - with ALLOWLY_SWIFT_LOCAL=1 in the environment, bindings-swift/AllowlyFFIC.xcframework as built on a Mac by
//   bindings-swift/scripts/build-xcframework.sh (development; see docs/packaging-jvm-swift.md).
// No Swift compiler runs in this repository's Linux CI: `make test-swift-parse` only parses this file and every Swift
// source with tree-sitter-swift; the release workflow's macOS job runs `swift build` and `swift test`.
import PackageDescription

// Written by scripts/swift-package-release.py; keep these two lines as they are.
let releasedFFI = (
    url: "https://github.com/openallowly/allowly-sdk/releases/download/v0.1.0/AllowlyFFIC.xcframework.zip",
    checksum: "0000000000000000000000000000000000000000000000000000000000000000"
)

let localFFI = Context.environment["ALLOWLY_SWIFT_LOCAL"] == "1"

let package = Package(
    name: "Allowly",
    platforms: [.macOS(.v12), .iOS(.v15)],
    products: [
        .library(name: "Allowly", targets: ["Allowly"]),
        // The MCP middleware over the official Swift MCP SDK (MCP 2025-11-25).
        .library(name: "AllowlyMCP", targets: ["AllowlyMCP"]),
    ],
    dependencies: [
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk.git", from: "0.11.0"),
    ],
    targets: [
        localFFI
            ? .binaryTarget(name: "AllowlyFFIC", path: "bindings-swift/AllowlyFFIC.xcframework")
            : .binaryTarget(name: "AllowlyFFIC", url: releasedFFI.url, checksum: releasedFFI.checksum),
        .target(name: "AllowlyFFI", dependencies: ["AllowlyFFIC"], path: "bindings-swift/Sources/AllowlyFFI"),
        .target(name: "Allowly", dependencies: ["AllowlyFFI"], path: "bindings-swift/Sources/Allowly"),
        .target(
            name: "AllowlyMCP",
            dependencies: ["Allowly", .product(name: "MCP", package: "swift-sdk")],
            path: "bindings-swift/Sources/AllowlyMCP"
        ),
        .testTarget(name: "AllowlyTests", dependencies: ["Allowly"], path: "bindings-swift/Tests/AllowlyTests"),
    ]
)
