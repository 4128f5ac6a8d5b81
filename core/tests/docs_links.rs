//! The repository explains itself: README.md, ARCHITECTURE.md, docs/*.md and the package READMEs never point at a path
//! outside the repository (a sibling checkout, a machine's directory), and every relative markdown link in them
//! resolves to a file or directory inside the repository.

use std::path::{Component, Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("core/ has a parent").to_path_buf()
}

/// Every document this test guards, as paths relative to the repository root.
fn documents() -> Vec<String> {
    let mut docs: Vec<String> = [
        "README.md",
        "ARCHITECTURE.md",
        "core/README.md",
        "server/README.md",
        "cli/README.md",
        "mcp-middleware/README.md",
        "bindings-python/README.md",
        "bindings-node/README.md",
        "bindings-swift/README.md",
        "bindings-swift/kotlin/README.md",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut in_docs: Vec<String> = std::fs::read_dir(repo().join("docs"))
        .expect("docs/ exists")
        .map(|e| e.expect("docs/ entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    in_docs.sort();
    assert!(in_docs.iter().any(|d| d == "docs/wire-v1.md"), "docs/wire-v1.md (the HTTP contract) must exist");
    assert!(in_docs.iter().any(|d| d == "docs/receipt-format.md"), "docs/receipt-format.md must exist");
    docs.extend(in_docs);
    docs
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

/// Text that names something outside the repository.
const OUTSIDE: &[&str] = &["../shared", "shared/design/", "shared/conformance/", "shared/seeds/", "/work/"];

#[test]
fn documents_name_no_path_outside_the_repository() {
    let mut problems = Vec::new();
    for doc in documents() {
        for (n, line) in read(&doc).lines().enumerate() {
            for needle in OUTSIDE {
                if line.contains(needle) {
                    problems.push(format!("{doc}:{}: mentions `{needle}`: {line}", n + 1));
                }
            }
        }
    }
    assert!(problems.is_empty(), "references outside the repository:\n{}", problems.join("\n"));
}

/// The text with fenced code blocks blanked out (code is not markdown, and `x[i](y)` is not a link).
fn prose(text: &str) -> String {
    let mut fenced = false;
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// Targets of inline links `[text](target)` (also images), in order.
fn link_targets(text: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(off) = text[i..].find("](") {
        let start = i + off + 2;
        let Some(len) = text[start..].find(')') else { break };
        let target = text[start..start + len].trim();
        // `[text](target "title")`: the target is the first word.
        let target = target.split_whitespace().next().unwrap_or("");
        if !target.is_empty() && bytes[i + off] == b']' {
            targets.push(target.trim_matches(|c| c == '<' || c == '>').to_string());
        }
        i = start + len;
    }
    targets
}

/// `path` with `.` and `..` resolved lexically, or `None` if it climbs above its root.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::CurDir => {}
            Component::Normal(p) => out.push(p),
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

#[test]
fn every_relative_link_resolves_inside_the_repository() {
    let root = repo();
    let mut problems = Vec::new();
    let mut checked = 0;
    for doc in documents() {
        let dir = Path::new(&doc).parent().unwrap_or(Path::new("")).to_path_buf();
        for target in link_targets(&prose(&read(&doc))) {
            if target.starts_with('#') || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let path = target.split('#').next().unwrap_or("");
            if path.starts_with('/') {
                problems.push(format!("{doc}: absolute link `{target}` (use a path relative to the document)"));
                continue;
            }
            match normalize(&dir.join(path)) {
                None => problems.push(format!("{doc}: link `{target}` leaves the repository")),
                Some(rel) if !root.join(&rel).exists() => {
                    problems.push(format!("{doc}: link `{target}` → {} does not exist", rel.display()))
                }
                Some(_) => checked += 1,
            }
        }
    }
    assert!(problems.is_empty(), "broken links:\n{}", problems.join("\n"));
    assert!(checked > 20, "only {checked} relative links found: is the link parser still right?");
}

#[test]
fn link_parser_finds_links_and_skips_code() {
    let text = "see [a](docs/x.md#y) and ![img](i.png \"t\")\n```\nlet v = m[k](z);\n```\n[b](../c)";
    assert_eq!(link_targets(&prose(text)), ["docs/x.md#y", "i.png", "../c"]);
    assert_eq!(normalize(Path::new("docs/../README.md")), Some(PathBuf::from("README.md")));
    assert_eq!(normalize(Path::new("docs/../../x")), None);
}
