//! The committed Swift and Kotlin sources must be exactly what the pinned UniFFI generator produces from this crate's
//! library now, so a changed binding can never ship with stale generated code.
//!
//! `ALLOWLY_UPDATE_GENERATED=1 cargo test -p allowly-swift --test generated_drift` rewrites them instead (what
//! `make ffi-bindings` runs).

use std::path::{Path, PathBuf};

use uniffi::{GenerateOptions, TargetLanguage};

/// Generated file (relative to the generator's output directory) → committed path (relative to `bindings-swift/`).
const FILES: [(&str, &str); 4] = [
    ("kotlin/ai/allowly/allowly.kt", "kotlin/src/main/kotlin/ai/allowly/allowly.kt"),
    ("swift/AllowlyFFI.swift", "Sources/AllowlyFFI/AllowlyFFI.swift"),
    ("swift/AllowlyFFIC.h", "Sources/AllowlyFFIC/include/AllowlyFFIC.h"),
    ("swift/AllowlyFFIC.modulemap", "Sources/AllowlyFFIC/include/module.modulemap"),
];

/// `liballowly_ffi.{so,dylib}` / `allowly_ffi.dll` in this test's profile directory, built now.
///
/// `cargo test` links the crate into this test as an rlib and does not produce the cdylib, and a cdylib left over
/// from an earlier build may be stale — either way the comparison would be against the wrong code. So the test asks
/// cargo (the same one, same target directory, same profile) to build the library first.
fn cdylib() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = std::process::Command::new(cargo);
    build.args(["build", "--locked", "--quiet", "-p", "allowly-swift", "--lib"]);
    if profile_dir.file_name().is_some_and(|p| p == "release") {
        build.arg("--release");
    }
    let status = build.status().expect("run cargo build");
    assert!(status.success(), "cargo build -p allowly-swift failed");
    let name = format!("{}allowly_ffi{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
    let path = profile_dir.join(name);
    assert!(path.exists(), "{} was not built", path.display());
    path
}

fn generate(language: TargetLanguage, out_dir: &Path) {
    uniffi::generate(GenerateOptions {
        languages: vec![language],
        source: cdylib().try_into().expect("UTF-8 library path"),
        out_dir: out_dir.to_path_buf().try_into().expect("UTF-8 out dir"),
        config_override: None,
        format: false,
        crate_filter: None,
        metadata_no_deps: true,
    })
    .expect("uniffi-bindgen generate");
}

#[test]
fn committed_swift_and_kotlin_match_the_generator() {
    let out = tempfile::tempdir().expect("temp dir");
    generate(TargetLanguage::Kotlin, &out.path().join("kotlin"));
    generate(TargetLanguage::Swift, &out.path().join("swift"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let update = std::env::var_os("ALLOWLY_UPDATE_GENERATED").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for (generated, committed) in FILES {
        let fresh = std::fs::read_to_string(out.path().join(generated)).expect("generated file");
        let path = root.join(committed);
        if update {
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, &fresh).expect("write generated file");
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(fresh.as_str()) {
            stale.push(committed);
        }
    }
    assert!(
        stale.is_empty(),
        "generated bindings are stale: {stale:?}; run `make ffi-bindings` (ALLOWLY_UPDATE_GENERATED=1 cargo test -p \
         allowly-swift --test generated_drift) and commit the result"
    );
}
