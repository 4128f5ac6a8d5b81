// swift-tools-version:5.9
// The Allowly SDK for Swift: the UniFFI-generated bindings (Sources/AllowlyFFI, Sources/AllowlyFFIC, committed and
// checked for drift by tests/generated_drift.rs) over the Rust core, shipped as an XCFramework that
// scripts/build-xcframework.sh builds on macOS, plus the idiomatic layer (Sources/Allowly).
// Not compiled in this repository's CI (no Swift toolchain there); see README.
import PackageDescription

let package = Package(
    name: "Allowly",
    platforms: [.macOS(.v12), .iOS(.v15)],
    products: [
        .library(name: "Allowly", targets: ["Allowly"]),
        // The MCP middleware over the official Swift MCP SDK (MCP 2025-11-25); not compiled here either.
        .library(name: "AllowlyMCP", targets: ["AllowlyMCP"]),
    ],
    dependencies: [
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk.git", from: "0.11.0"),
    ],
    targets: [
        // liballowly_ffi (static) for every Apple platform, with Sources/AllowlyFFIC/include as its headers.
        .binaryTarget(name: "AllowlyFFIC", path: "AllowlyFFIC.xcframework"),
        .target(name: "AllowlyFFI", dependencies: ["AllowlyFFIC"], path: "Sources/AllowlyFFI"),
        .target(name: "Allowly", dependencies: ["AllowlyFFI"], path: "Sources/Allowly"),
        .target(
            name: "AllowlyMCP",
            dependencies: ["Allowly", .product(name: "MCP", package: "swift-sdk")],
            path: "Sources/AllowlyMCP"
        ),
        .testTarget(name: "AllowlyTests", dependencies: ["Allowly"], path: "Tests/AllowlyTests"),
    ]
)
