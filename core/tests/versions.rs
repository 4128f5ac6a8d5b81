//! One version for the whole suite: `workspace.package.version` in the root `Cargo.toml`.
//!
//! The npm package (`bindings-node/package.json`) and the Kotlin build (`bindings-swift/kotlin/pom.xml`) spell it out
//! and must agree; the Python package reads Cargo's (`dynamic = ["version"]`), every crate inherits it, and the Swift
//! package takes the git tag (docs/development.md). This test reads the files as text, with no extra dependency.

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("core/ has a parent").to_path_buf()
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

/// The lines of one `[section]` of a TOML file (up to the next section header).
fn toml_section<'a>(text: &'a str, header: &str) -> Vec<&'a str> {
    text.lines().skip_while(|l| l.trim() != header).skip(1).take_while(|l| !l.trim_start().starts_with('[')).collect()
}

/// The text of a string that starts `text` (after whitespace): `"value"…` → `value`.
fn quoted(text: &str) -> Option<String> {
    let rest = text.trim_start().strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_string())
}

/// The quoted value after `key =` on a `key = "value"` line.
fn toml_string(line: &str, key: &str) -> Option<String> {
    quoted(line.trim().strip_prefix(key)?.trim_start().strip_prefix('=')?)
}

fn workspace_version() -> String {
    let cargo = read("Cargo.toml");
    let version = toml_section(&cargo, "[workspace.package]")
        .into_iter()
        .find_map(|l| toml_string(l, "version"))
        .expect("Cargo.toml has [workspace.package] version = \"…\"");
    assert!(
        !version.is_empty() && version.split('.').count() >= 3,
        "workspace.package.version {version:?} is not a semantic version"
    );
    version
}

#[test]
fn node_package_has_the_workspace_version() {
    let package: serde_json::Value = serde_json::from_str(&read("bindings-node/package.json")).expect("package.json");
    assert_eq!(
        package["version"].as_str(),
        Some(workspace_version().as_str()),
        "bindings-node/package.json \"version\" must equal workspace.package.version in Cargo.toml"
    );
}

#[test]
fn kotlin_build_has_the_workspace_version() {
    let pom = read("bindings-swift/kotlin/pom.xml");
    // The project's own coordinates: the first <version> after <artifactId>openallowly-kotlin</artifactId> (dependency
    // versions come later and are properties).
    let after = &pom[pom
        .find("<artifactId>openallowly-kotlin</artifactId>")
        .expect("pom.xml declares artifactId openallowly-kotlin")..];
    let start = after.find("<version>").expect("pom.xml has a project <version>") + "<version>".len();
    let end = after[start..].find("</version>").expect("closed <version>") + start;
    assert_eq!(
        after[start..end].trim(),
        workspace_version(),
        "bindings-swift/kotlin/pom.xml <version> must equal workspace.package.version in Cargo.toml"
    );
}

#[test]
fn python_package_reads_the_cargo_version() {
    let pyproject = read("bindings-python/pyproject.toml");
    let project = toml_section(&pyproject, "[project]");
    assert!(
        project.iter().any(|l| l.replace(' ', "") == "dynamic=[\"version\"]"),
        "bindings-python/pyproject.toml must take its version from Cargo (dynamic = [\"version\"])"
    );
    assert!(
        !project.iter().any(|l| toml_string(l, "version").is_some()),
        "bindings-python/pyproject.toml must not spell out a version of its own"
    );
}

#[test]
fn every_crate_inherits_the_workspace_version() {
    let cargo = read("Cargo.toml");
    let members: Vec<String> = toml_section(&cargo, "[workspace]")
        .into_iter()
        .skip_while(|l| !l.trim_start().starts_with("members"))
        .skip(1)
        .take_while(|l| l.trim() != "]")
        .filter_map(quoted)
        .collect();
    assert!(members.len() >= 4, "could not read [workspace] members from Cargo.toml: {members:?}");
    for member in &members {
        let manifest = read(&format!("{member}/Cargo.toml"));
        assert!(
            toml_section(&manifest, "[package]").iter().any(|l| l.replace(' ', "") == "version.workspace=true"),
            "{member}/Cargo.toml must use version.workspace = true"
        );
    }
    // Path dependencies between our crates name the same version (what crates.io would record).
    let version = workspace_version();
    for line in toml_section(&cargo, "[workspace.dependencies]") {
        if line.contains("path =") {
            let declared = line.split("version =").nth(1).and_then(quoted);
            assert_eq!(declared.as_deref(), Some(version.as_str()), "workspace dependency line: {line}");
        }
    }
}
