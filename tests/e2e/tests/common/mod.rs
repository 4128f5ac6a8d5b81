//! The one way a Rust end-to-end test starts the real `allowly serve --dev` binary: on a temp SQLite file, killed
//! when the guard drops so a failing assertion never leaves it running. (The server crate's own tests run the server
//! in-process instead, through `server/tests/common`, because they test the library, not the binary.)

// Each test binary that includes this module uses a different part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The `allowly` binary in this test's profile directory, built now (once per test binary); `ALLOWLY_BIN` overrides.
///
/// The binary belongs to another package (allowly-cli), so cargo neither builds it for these tests nor tells them
/// where it is (`CARGO_BIN_EXE_*` covers the own package only), and one left over from an earlier build may be
/// stale. So the tests ask cargo (the same one, same target directory, same profile) to build it first, as
/// bindings-swift's drift test does for its library.
pub fn allowly_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("ALLOWLY_BIN") {
            return PathBuf::from(bin);
        }
        let exe = std::env::current_exe().expect("test executable path");
        let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo);
        build.args(["build", "--locked", "--quiet", "-p", "allowly-cli", "--bin", "allowly"]);
        // Cargo gives this test the variables of its own package; passed on, they would make the inner build see
        // another environment than a plain `cargo build` (ring's build script reruns on CARGO_MANIFEST_DIR), so the
        // two would rebuild the binary's dependencies in turn.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy().into_owned();
            let package_var = ["CARGO_PKG_", "CARGO_BIN_EXE_"].iter().any(|p| name.starts_with(p))
                || ["CARGO_MANIFEST_DIR", "CARGO_MANIFEST_PATH", "CARGO_CRATE_NAME", "CARGO_BIN_NAME"]
                    .contains(&name.as_str())
                || ["CARGO_PRIMARY_PACKAGE", "CARGO_TARGET_TMPDIR", "CARGO_RUSTC_CURRENT_DIR", "OUT_DIR"]
                    .contains(&name.as_str());
            if package_var {
                build.env_remove(name);
            }
        }
        if profile_dir.file_name().is_some_and(|p| p == "release") {
            build.arg("--release");
        }
        let status = build.status().expect("run cargo build");
        assert!(status.success(), "cargo build -p allowly-cli --bin allowly failed");
        let path = profile_dir.join(format!("allowly{}", std::env::consts::EXE_SUFFIX));
        assert!(path.exists(), "{} was not built", path.display());
        path
    })
}

pub struct Server {
    child: Child,
    pub ready: PathBuf,
    log: PathBuf,
    pub dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The secrets audit (scripts/secrets_audit.sh) scans every server log; the temp dir is about to go.
        if let Some(keep) = std::env::var_os("ALLOWLY_TEST_LOG_DIR") {
            let to = Path::new(&keep)
                .join(format!("cli-{}", std::process::id()))
                .join(self.dir.path().file_name().unwrap_or_default());
            if std::fs::create_dir_all(&to).is_ok() {
                for e in std::fs::read_dir(self.dir.path()).into_iter().flatten().flatten() {
                    let _ = std::fs::copy(e.path(), to.join(e.file_name()));
                }
            }
        }
    }
}

impl Server {
    pub fn start() -> Server {
        Self::start_with(&[])
    }

    /// `allowly serve --dev` with extra flags (a scenario's `serve_args`).
    pub fn start_with(extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let ready = dir.path().join("ready.json");
        let log = dir.path().join("server.log");
        let log_file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(allowly_bin())
            .arg("serve")
            .arg("--dev")
            .arg("--db")
            .arg(format!("sqlite://{}", dir.path().join("test.db").display()))
            .args(["--listen", "127.0.0.1:0", "--ready-file"])
            .arg(&ready)
            .args(extra)
            .env_remove("ALLOWLY_MASTER_KEY")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log file"))
            .stderr(log_file)
            .spawn()
            .expect("spawn allowly serve");
        let mut server = Server { child, ready, log, dir };
        server.wait_ready(Duration::from_secs(60));
        server
    }

    fn wait_ready(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !is_nonempty(&self.ready) {
            if let Some(status) = self.child.try_wait().expect("poll server") {
                panic!("allowly serve exited with {status} before it was ready; log:\n{}", self.log_text());
            }
            assert!(Instant::now() < deadline, "no ready file within {timeout:?}; log:\n{}", self.log_text());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A field of the ready file (`base_url`, `workspace_id`, `runtime_api_key`, `setup_api_key`).
    pub fn field(&self, name: &str) -> String {
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&self.ready).expect("ready file")).expect("ready JSON");
        doc[name].as_str().unwrap_or_else(|| panic!("ready file has no {name}")).to_owned()
    }
}

fn is_nonempty(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.len() > 0)
}
