//! First-start bootstrap, `allowly init`, and the ready file.
//!
//! Bootstrapping creates a workspace, its first signing key, one runtime key and one setup key. API keys are stored
//! hashed, so their text exists only at creation. A production database is bootstrapped once by `allowly init`,
//! which prints the keys. In `--dev` the server bootstraps on first start and keeps the keys in a 0600 file next to
//! the SQLite database (`<db>.dev-keys.json`) so a restart can write the ready file again; the master key that seals
//! the signing keys likewise lives in `<db>.master-key` (0600) in `--dev`, and comes from `ALLOWLY_MASTER_KEY`
//! otherwise.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::crypto::MasterKey;
use crate::store::{Dialect, Store, StoreError, api_keys, signing_keys};
use crate::{ServeConfig, ServeError, util};

/// Default database of `allowly serve --dev`.
pub const DEV_DB: &str = "./.allowly/dev.db";

/// The ready file's content. `Debug` is redacted (it holds API keys).
#[derive(Clone)]
pub struct ReadyInfo {
    pub base_url: String,
    pub workspace_id: String,
    pub runtime_api_key: String,
    pub setup_api_key: String,
    /// `--dev` only: the demo policy edition (`crate::demo_policy`).
    pub policy: Option<crate::store::policies::EditionRef>,
}

impl std::fmt::Debug for ReadyInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadyInfo")
            .field("base_url", &self.base_url)
            .field("workspace_id", &self.workspace_id)
            .finish_non_exhaustive()
    }
}

impl ReadyInfo {
    pub fn to_json(&self) -> Value {
        let mut doc = json!({
            "base_url": self.base_url,
            "workspace_id": self.workspace_id,
            "runtime_api_key": self.runtime_api_key,
            "setup_api_key": self.setup_api_key,
        });
        if let Some(p) = &self.policy {
            doc["policy"] = json!({"policy_id": p.policy_id, "policy_version": p.policy_version});
        }
        doc
    }
}

/// Keys known in clear at start (freshly created, or re-read from the dev keys file). No `Debug`: it holds API keys.
pub struct KnownKeys {
    pub workspace_id: String,
    pub runtime_api_key: String,
    pub setup_api_key: String,
}

pub struct Boot {
    pub store: Store,
    pub master: MasterKey,
    pub workspace_id: String,
    pub keys: Option<KnownKeys>,
}

/// The file path inside a `sqlite:` URL (`sqlite://a/b.db?mode=rwc` → `a/b.db`).
fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && !path.starts_with(':')).then(|| PathBuf::from(path))
}

fn sidecar(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(suffix);
    db.with_file_name(name)
}

/// Writes JSON readable only by the owner (keys, master key, ready file).
pub fn write_private_json(path: &Path, value: &Value) -> std::io::Result<()> {
    write_private(path, format!("{value:#}\n").as_bytes())
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = sidecar(path, ".tmp");
    {
        use std::io::Write as _;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    // Rename so a reader (a test waiting for the ready file) never sees a half-written file.
    std::fs::rename(&tmp, path)
}

fn dev_master_key(db: &Path) -> Result<MasterKey, ServeError> {
    let path = sidecar(db, ".master-key");
    match std::fs::read_to_string(&path) {
        Ok(text) => MasterKey::from_base64(&text).map_err(|e| ServeError::Config(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = MasterKey::generate();
            write_private(&path, format!("{}\n", key.to_base64()).as_bytes())?;
            Ok(key)
        }
        Err(e) => Err(e.into()),
    }
}

/// Creates the parent directory of a SQLite database file (a PostgreSQL database must already exist).
fn sqlite_dir(url: &str) -> std::io::Result<Option<PathBuf>> {
    let db_path = sqlite_path(url);
    if let Some(dir) = db_path.as_ref().and_then(|p| p.parent()).filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    Ok(db_path)
}

/// Opens the database and makes sure a workspace with a signing key exists.
///
/// An empty database is bootstrapped here only when the new API keys have somewhere to go (`--dev`, or a ready
/// file); otherwise they would exist nowhere, the workspace would be unusable and `allowly init` would refuse it,
/// so serving is refused instead.
pub async fn prepare(cfg: &ServeConfig) -> Result<Boot, ServeError> {
    let url = match (&cfg.db_url, cfg.dev) {
        (Some(u), _) => u.clone(),
        (None, true) => Store::sqlite_url(Path::new(DEV_DB)),
        (None, false) => return Err(ServeError::Config("--db is required without --dev".into())),
    };
    Dialect::of_url(&url)?;
    let db_path = sqlite_dir(&url)?;
    let master = match (&cfg.master_key, cfg.dev, &db_path) {
        (Some(k), _, _) => k.clone(),
        (None, true, Some(p)) => dev_master_key(p)?,
        (None, _, _) => master_key_from_env().map_err(ServeError::Config)?,
    };
    if cfg.sqlite_synchronous != crate::store::Synchronous::Full && Dialect::of_url(&url)? == Dialect::Sqlite {
        tracing::warn!(
            "--sqlite-synchronous normal: answered checks survive a crash of this process, not a power loss"
        );
    }
    let store = Store::open_with(&url, cfg.sqlite_synchronous).await?;
    let dev_keys_file = db_path.as_ref().filter(|_| cfg.dev).map(|p| sidecar(p, ".dev-keys.json"));
    let ws = match api_keys::first_workspace(store.reader()).await.map_err(StoreError::from)? {
        Some(ws) => ws,
        None if cfg.dev || cfg.ready_file.is_some() => match bootstrap_workspace(&store, &master).await? {
            Bootstrap::Created(k) => {
                write_dev_keys(dev_keys_file.as_deref(), &k)?;
                return Ok(Boot { store, master, workspace_id: k.workspace_id.clone(), keys: Some(k) });
            }
            // Another process sharing the database bootstrapped it first.
            Bootstrap::Exists(ws) => ws,
        },
        None => {
            store.close().await;
            return Err(ServeError::Config(
                "the database has no workspace yet: run `allowly init --db URL` once (it prints the API keys), \
                 or serve with --ready-file to receive them there"
                    .into(),
            ));
        }
    };
    // A wrong master key would otherwise only show up as receipts that never get signed.
    let opened = signing_keys::load_all(&mut *store.reader().acquire().await.map_err(StoreError::from)?, &master).await;
    if let Err(e) = opened {
        store.close().await;
        return Err(ServeError::Config(format!("the signing keys stored in this database: {e}")));
    }
    let keys = match &dev_keys_file {
        Some(file) => match read_dev_keys(file, &ws) {
            Some(k) => Some(k),
            None => Some(new_api_keys(&store, &ws).await?),
        },
        None => None,
    };
    if let Some(k) = &keys {
        write_dev_keys(dev_keys_file.as_deref(), k)?;
    }
    Ok(Boot { store, master, workspace_id: ws, keys })
}

/// `ALLOWLY_MASTER_KEY`, the master key of a production database. The error never contains the value.
pub fn master_key_from_env() -> Result<MasterKey, String> {
    match std::env::var("ALLOWLY_MASTER_KEY") {
        Ok(v) => MasterKey::from_base64(&v).map_err(|e| format!("ALLOWLY_MASTER_KEY: {e}")),
        Err(_) => Err("ALLOWLY_MASTER_KEY (32 bytes, base64) is required".into()),
    }
}

fn write_dev_keys(file: Option<&Path>, k: &KnownKeys) -> std::io::Result<()> {
    match file {
        Some(file) => write_private_json(
            file,
            &json!({"workspace_id": k.workspace_id, "runtime_api_key": k.runtime_api_key, "setup_api_key": k.setup_api_key}),
        ),
        None => Ok(()),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// Keys are shown once, at creation; a second init would mint a second workspace nobody asked for.
    #[error(
        "the database is already initialised (workspace {0}); init prints keys only once, when it creates the \
         workspace"
    )]
    AlreadyInitialised(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

/// `allowly init --db URL`: the first-start bootstrap for a production database, run once. Returns the new
/// workspace and its runtime and setup keys — the only time their text exists — or refuses a database that already
/// has a workspace.
pub async fn init(url: &str, master: &MasterKey) -> Result<KnownKeys, InitError> {
    Dialect::of_url(url)?;
    sqlite_dir(url)?;
    let store = Store::open(url).await?;
    let res = bootstrap_workspace(&store, master).await;
    store.close().await;
    match res? {
        Bootstrap::Created(k) => Ok(k),
        Bootstrap::Exists(ws) => Err(InitError::AlreadyInitialised(ws)),
    }
}

enum Bootstrap {
    Created(KnownKeys),
    Exists(String),
}

fn read_dev_keys(file: &Path, workspace_id: &str) -> Option<KnownKeys> {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(file).ok()?).ok()?;
    let get = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    (get("workspace_id")? == workspace_id).then_some(())?;
    Some(KnownKeys {
        workspace_id: workspace_id.to_string(),
        runtime_api_key: get("runtime_api_key")?,
        setup_api_key: get("setup_api_key")?,
    })
}

/// Creates the workspace, its first signing key and one key of each tier, unless a workspace exists — decided in the
/// same transaction, so two processes bootstrapping one database create one workspace.
async fn bootstrap_workspace(store: &Store, master: &MasterKey) -> Result<Bootstrap, StoreError> {
    let now = util::fmt_ts(util::now());
    let mut tx = store.begin().await?;
    api_keys::lock_for_bootstrap(&mut tx).await?;
    if let Some(ws) = api_keys::first_workspace(&mut *tx).await? {
        return Ok(Bootstrap::Exists(ws));
    }
    let ws = api_keys::create_workspace(&mut tx, "default", &now).await?;
    signing_keys::create(&mut tx, master, &ws, &now).await?;
    let rt = api_keys::create(&mut tx, &ws, api_keys::Tier::Runtime, "bootstrap runtime", &now).await?;
    let setup = api_keys::create(&mut tx, &ws, api_keys::Tier::Setup, "bootstrap setup", &now).await?;
    tx.commit().await?;
    Ok(Bootstrap::Created(KnownKeys { workspace_id: ws, runtime_api_key: rt.key, setup_api_key: setup.key }))
}

async fn new_api_keys(store: &Store, ws: &str) -> Result<KnownKeys, StoreError> {
    let now = util::fmt_ts(util::now());
    let mut tx = store.begin().await?;
    let rt = api_keys::create(&mut tx, ws, api_keys::Tier::Runtime, "dev runtime", &now).await?;
    let setup = api_keys::create(&mut tx, ws, api_keys::Tier::Setup, "dev setup", &now).await?;
    tx.commit().await?;
    Ok(KnownKeys { workspace_id: ws.to_string(), runtime_api_key: rt.key, setup_api_key: setup.key })
}
