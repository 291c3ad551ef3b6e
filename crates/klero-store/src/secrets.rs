//! Where the store keeps its secrets: never in the database.
//!
//! Two kinds of secret exist: the **party pepper** (name `pepper`), the key of every party
//! commitment, and the **secret of each built-in beacon chain** (name `beacon-<anchor hex>`), from
//! which every future value of that chain follows. Whoever reads either can foresee draws or
//! confirm a guessed party identifier, so neither may sit beside the log: a copy of the database
//! alone must reveal nothing.
//!
//! [`SecretStore`] is the small interface a key-management service can implement;
//! [`FileSecrets`] is the shipped one: one file per secret in a directory of its own, mode 0600 in a
//! directory of mode 0700, written once and never overwritten.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::StoreError;

/// A place for named 32-byte secrets, outside the database.
///
/// Contract: [`SecretStore::put`] returns only once the secret is durable, and never replaces a
/// secret that exists with another value (it fails instead; the same value again is fine). The
/// store writes a chain's secret *before* it commits the entry that publishes the chain's anchor,
/// so a published anchor always has its secret. Calls may block briefly (a file, a network round
/// trip): the store makes them at open and when a chain is rotated. Implementations must never log
/// or display a secret's value; [`SecretStore::describe`] says where secrets are, for messages.
pub trait SecretStore: Send + Sync + fmt::Debug {
    /// The secret called `name`, or `None` if there is none.
    fn get(&self, name: &str) -> Result<Option<[u8; 32]>, StoreError>;
    /// Stores `value` as `name`, durably; fails if `name` holds another value.
    fn put(&self, name: &str, value: &[u8; 32]) -> Result<(), StoreError>;
    /// Where the secrets are, for messages (a path, a key ring's name); never a secret.
    fn describe(&self) -> String;
}

/// Secrets as files in a directory: `<dir>/<name>`, 64 lowercase hex digits and a newline, mode
/// 0600; the directory is created with mode 0700. A secret file that other users may read is
/// refused, as ssh refuses a readable private key.
#[derive(Clone, Debug)]
pub struct FileSecrets {
    dir: PathBuf,
}

impl FileSecrets {
    /// Secrets in `dir` (created on the first write).
    pub fn new(dir: impl Into<PathBuf>) -> FileSecrets {
        FileSecrets { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, name: &str) -> Result<PathBuf, StoreError> {
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(StoreError::Secrets(format!(
                "{name:?} is not a valid secret name"
            )));
        }
        Ok(self.dir.join(name))
    }

    fn err(&self, what: &str, e: std::io::Error) -> StoreError {
        StoreError::Secrets(format!("{what} in {}: {e}", self.dir.display()))
    }

    fn make_dir(&self) -> Result<(), StoreError> {
        if self.dir.is_dir() {
            return Ok(());
        }
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt as _;
            b.mode(0o700);
        }
        b.create(&self.dir)
            .map_err(|e| self.err("cannot create the secrets directory", e))
    }
}

fn parse_hex(text: &str) -> Option<[u8; 32]> {
    hex::decode(text.trim()).ok()?.try_into().ok()
}

impl SecretStore for FileSecrets {
    fn get(&self, name: &str) -> Result<Option<[u8; 32]>, StoreError> {
        let path = self.path(name)?;
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.err(&format!("cannot read the secret {name}"), e)),
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path)
                .map_err(|e| self.err(&format!("cannot read the secret {name}"), e))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(StoreError::Secrets(format!(
                    "the secret file {} may be read by other users (mode {:o}): make it readable by \
                     its owner only (chmod 600), after checking who may have read it",
                    path.display(),
                    mode & 0o777
                )));
            }
        }
        parse_hex(&text).map(Some).ok_or_else(|| {
            StoreError::Secrets(format!(
                "the secret file {} does not hold 64 hex digits",
                path.display()
            ))
        })
    }

    fn put(&self, name: &str, value: &[u8; 32]) -> Result<(), StoreError> {
        let path = self.path(name)?;
        if let Some(old) = self.get(name)? {
            return if &old == value {
                Ok(())
            } else {
                Err(StoreError::Secrets(format!(
                    "the secret {name} in {} exists with another value; it is never replaced",
                    self.dir.display()
                )))
            };
        }
        self.make_dir()?;
        // Write a temporary file, make it durable, then link it into place: the link fails if the
        // name exists, so a concurrent writer's secret is never replaced.
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).map_err(|e| {
            StoreError::Secrets(format!("the operating system gave no randomness: {e}"))
        })?;
        let tmp = self.dir.join(format!(".{name}.{}.tmp", hex::encode(nonce)));
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            opts.mode(0o600);
        }
        let written = (|| {
            let mut f = opts.open(&tmp)?;
            f.write_all(format!("{}\n", hex::encode(value)).as_bytes())?;
            f.sync_all()?;
            std::fs::hard_link(&tmp, &path)
        })();
        let _ = std::fs::remove_file(&tmp);
        match written {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                // Another process wrote it first: fine if it is the same value.
                return self.put(name, value);
            }
            Err(e) => return Err(self.err(&format!("cannot write the secret {name}"), e)),
        }
        // Make the new name durable too.
        if let Ok(d) = std::fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    fn describe(&self) -> String {
        format!("the secrets directory {}", self.dir.display())
    }
}

/// Secrets in this process's memory only: for an in-memory database, which lives and dies with
/// the process too, and for tests.
#[derive(Debug, Default)]
pub struct MemorySecrets {
    map: std::sync::Mutex<std::collections::HashMap<String, [u8; 32]>>,
}

impl SecretStore for MemorySecrets {
    fn get(&self, name: &str) -> Result<Option<[u8; 32]>, StoreError> {
        Ok(self
            .map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .copied())
    }

    fn put(&self, name: &str, value: &[u8; 32]) -> Result<(), StoreError> {
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        match m.get(name) {
            Some(v) if v != value => Err(StoreError::Secrets(format!(
                "the secret {name} exists with another value; it is never replaced"
            ))),
            _ => {
                m.insert(name.to_owned(), *value);
                Ok(())
            }
        }
    }

    fn describe(&self) -> String {
        "this process's memory".into()
    }
}

/// The secrets directory used when none is named, for a database address: beside a SQLite file,
/// never inside it (`sqlite://data/klero.db` → `data/klero-secrets`); `None` for PostgreSQL, whose
/// secrets directory must be named.
pub fn default_secrets_dir(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path.contains(":memory:") {
        return None;
    }
    let p = Path::new(path);
    let stem = p.file_stem()?.to_string_lossy().into_owned();
    Some(
        p.parent()
            .unwrap_or_else(|| Path::new(""))
            .join(format!("{stem}-secrets")),
    )
}

/// The fingerprint of the party pepper this database recorded, if it recorded one.
pub(crate) async fn recorded_pepper<'c, E>(conn: E) -> Result<Option<String>, crate::StoreError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    sqlx::query_scalar("SELECT fingerprint FROM secret_fingerprints WHERE name = 'pepper'")
        .fetch_optional(conn)
        .await
        .map_err(crate::db::db_err)
}

/// The refusal of a pepper in `secrets` whose fingerprint is not the one this database recorded.
pub(crate) fn foreign_pepper(secrets: &dyn SecretStore) -> crate::StoreError {
    crate::StoreError::Secrets(format!(
        "the party pepper in {} is not this database's: name the secrets directory that belongs \
         to this database",
        secrets.describe()
    ))
}

/// A secret's fingerprint, kept in the database to recognize the right secret without revealing
/// it: SHA-256 of a domain tag, the name and the value.
pub(crate) fn fingerprint(name: &str, value: &[u8; 32]) -> String {
    use sha2::{Digest as _, Sha256};
    let mut h = Sha256::new();
    h.update(b"klero/secret-fingerprint/v1\0");
    h.update(name.as_bytes());
    h.update([0]);
    h.update(value);
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_directory_is_beside_the_database_file() {
        let d = |u: &str| default_secrets_dir(u).map(|p| p.display().to_string());
        assert_eq!(d("sqlite://klero.db").as_deref(), Some("klero-secrets"));
        assert_eq!(
            d("sqlite:///var/lib/klero/main.db?mode=rwc").as_deref(),
            Some("/var/lib/klero/main-secrets")
        );
        assert_eq!(d("postgres://x/y"), None);
        assert_eq!(d("sqlite::memory:"), None);
    }

    #[test]
    fn a_secret_is_written_once_with_owner_only_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let s = FileSecrets::new(dir.path().join("s"));
        assert_eq!(s.get("pepper").unwrap(), None);
        s.put("pepper", &[7; 32]).unwrap();
        s.put("pepper", &[7; 32]).unwrap();
        assert_eq!(s.get("pepper").unwrap(), Some([7; 32]));
        assert!(s.put("pepper", &[8; 32]).is_err(), "a secret was replaced");
        assert!(s.get("../pepper").is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir.path().join("s")), 0o700);
            assert_eq!(mode(&dir.path().join("s/pepper")), 0o600);
            std::fs::set_permissions(
                dir.path().join("s/pepper"),
                std::fs::Permissions::from_mode(0o644),
            )
            .unwrap();
            let e = s.get("pepper").unwrap_err().to_string();
            assert!(e.contains("chmod 600"), "{e}");
            assert!(
                !e.contains(&hex::encode([7u8; 32])),
                "a secret in a message: {e}"
            );
        }
    }
}
