//! First-start bootstrap and the ready file.
//!
//! On an empty database the server creates a workspace, its first signing key, one runtime key and one setup key.
//! API keys are stored hashed, so their text exists only at creation: in `--dev` it is kept in a 0600 file next to
//! the database (`<db>.dev-keys.json`) so a restart can write the ready file again; the master key that seals the
//! signing keys likewise lives in `<db>.master-key` (0600) in `--dev`, and comes from `ALLOWLY_MASTER_KEY` otherwise.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::crypto::MasterKey;
use crate::store::{Store, api_keys, signing_keys};
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
        json!({
            "base_url": self.base_url,
            "workspace_id": self.workspace_id,
            "runtime_api_key": self.runtime_api_key,
            "setup_api_key": self.setup_api_key,
        })
    }
}

/// Keys known in clear at start (freshly created, or re-read from the dev keys file).
pub struct KnownKeys {
    pub workspace_id: String,
    pub runtime_api_key: String,
    pub setup_api_key: String,
}

pub struct Boot {
    pub store: Store,
    pub master: MasterKey,
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

/// Opens the database and makes sure a workspace with a signing key exists.
pub async fn prepare(cfg: &ServeConfig) -> Result<Boot, ServeError> {
    let url = match (&cfg.db_url, cfg.dev) {
        (Some(u), _) => u.clone(),
        (None, true) => Store::sqlite_url(Path::new(DEV_DB)),
        (None, false) => return Err(ServeError::Config("--db is required without --dev".into())),
    };
    let db_path = sqlite_path(&url);
    if let Some(dir) = db_path.as_ref().and_then(|p| p.parent()).filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let master = match (&cfg.master_key, cfg.dev, &db_path) {
        (Some(k), _, _) => k.clone(),
        (None, true, Some(p)) => dev_master_key(p)?,
        (None, _, _) => match std::env::var("ALLOWLY_MASTER_KEY") {
            Ok(v) => MasterKey::from_base64(&v).map_err(|e| ServeError::Config(format!("ALLOWLY_MASTER_KEY: {e}")))?,
            Err(_) => return Err(ServeError::Config("ALLOWLY_MASTER_KEY (32 bytes, base64) is required".into())),
        },
    };
    let store = Store::open(&url).await?;
    let dev_keys_file = db_path.as_ref().filter(|_| cfg.dev).map(|p| sidecar(p, ".dev-keys.json"));
    let keys = match api_keys::first_workspace(store.reader()).await.map_err(crate::store::StoreError::from)? {
        None => Some(create_workspace(&store, &master).await?),
        Some(ws) => match &dev_keys_file {
            Some(file) => match read_dev_keys(file, &ws) {
                Some(k) => Some(k),
                None => Some(new_api_keys(&store, &ws).await?),
            },
            None => None,
        },
    };
    if let (Some(file), Some(k)) = (&dev_keys_file, &keys) {
        write_private_json(
            file,
            &json!({"workspace_id": k.workspace_id, "runtime_api_key": k.runtime_api_key, "setup_api_key": k.setup_api_key}),
        )?;
    }
    Ok(Boot { store, master, keys })
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

async fn create_workspace(store: &Store, master: &MasterKey) -> Result<KnownKeys, ServeError> {
    let now = util::fmt_ts(util::now());
    let mut tx = store.begin().await.map_err(crate::store::StoreError::from)?;
    let res: Result<KnownKeys, sqlx::Error> = async {
        let ws = api_keys::create_workspace(&mut tx, "default", &now).await?;
        signing_keys::create(&mut tx, master, &ws, &now).await?;
        let rt = api_keys::create(&mut tx, &ws, api_keys::Tier::Runtime, "bootstrap runtime", &now).await?;
        let setup = api_keys::create(&mut tx, &ws, api_keys::Tier::Setup, "bootstrap setup", &now).await?;
        Ok(KnownKeys { workspace_id: ws, runtime_api_key: rt.key, setup_api_key: setup.key })
    }
    .await;
    let keys = res.map_err(crate::store::StoreError::from)?;
    tx.commit().await.map_err(crate::store::StoreError::from)?;
    Ok(keys)
}

async fn new_api_keys(store: &Store, ws: &str) -> Result<KnownKeys, ServeError> {
    let now = util::fmt_ts(util::now());
    let mut tx = store.begin().await.map_err(crate::store::StoreError::from)?;
    let rt = api_keys::create(&mut tx, ws, api_keys::Tier::Runtime, "dev runtime", &now)
        .await
        .map_err(crate::store::StoreError::from)?;
    let setup = api_keys::create(&mut tx, ws, api_keys::Tier::Setup, "dev setup", &now)
        .await
        .map_err(crate::store::StoreError::from)?;
    tx.commit().await.map_err(crate::store::StoreError::from)?;
    Ok(KnownKeys { workspace_id: ws.to_string(), runtime_api_key: rt.key, setup_api_key: setup.key })
}
