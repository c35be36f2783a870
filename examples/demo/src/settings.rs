//! The demo's configuration: environment variables, all optional.
//!
//! | variable              | default                         | meaning                                  |
//! |-----------------------|---------------------------------|------------------------------------------|
//! | `UPLIFT_DATA_DIR`     | `./data`                        | files, SQLite records, the secret        |
//! | `UPLIFT_SECRET`       | generated into `secret.key`     | URL-signing secret, at least 32 bytes    |
//! | `DATABASE_URL`        | `sqlite://$UPLIFT_DATA_DIR/uplift.db` | `postgres://…` switches to PostgreSQL |
//! | `DATABASE_SCHEMA`     | the URL's `search_path`         | PostgreSQL only: this schema (created if missing) |
//! | `UPLIFT_INSTANCE_ID`  | host name (+ hash of the tus dir) | this instance's id; one per process sharing a host |
//! | `UPLIFT_BIND`         | `127.0.0.1:8080`                | listen address (`:0` picks a free port)  |
//! | `UPLIFT_PUBLIC_URL`   | the request's own host          | origin in absolute URLs, behind a proxy  |
//! | `UPLIFT_CORS_ORIGINS` | none                            | comma-separated origins, or `*`          |
//! | `UPLIFT_S3_ENDPOINT`  | none (local disk)               | an S3-compatible bucket for the files (below) |
//! | `UPLIFT_DIRECT_MULTIPART_THRESHOLD` | 64 MiB            | files sent straight to the bucket above this many bytes go in parts |
//! | `UPLIFT_S3_CORS_ORIGINS` | none                         | comma-separated origins (or `*`) whose pages may send files straight to the bucket: set as the bucket's CORS rule at start |
//!
//! With `UPLIFT_S3_ENDPOINT`, the files go to a bucket: `UPLIFT_S3_BUCKET`,
//! `UPLIFT_S3_ACCESS_KEY_ID` and `UPLIFT_S3_SECRET_ACCESS_KEY` are needed, `UPLIFT_S3_REGION`
//! (default `us-east-1`), `UPLIFT_S3_PATH_STYLE` (default `true`) and `UPLIFT_S3_KEY_PREFIX`
//! are optional ([`uplift::storage::S3Config::from_env`]). tus uploads in progress go to the
//! bucket too.
//!
//! Several demos may share one PostgreSQL schema and one bucket: each then needs its own
//! `UPLIFT_INSTANCE_ID` (1 to 64 of `A-Z a-z 0-9 . _ -`), stable across its restarts. The
//! default is derived from the host name (and the tus dir, on local disk), so processes on one
//! host would share it, and the start-up recovery of one
//! would fail the uploads the others have in flight and release their tus locks
//! (see `docs/scaling.md`).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use uplift::MIN_SECRET_LEN;

/// Everything the demo reads from its environment.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    /// `None`: SQLite in the data dir.
    pub database_url: Option<String>,
    /// PostgreSQL only: the schema to keep the records in (`Records::connect_with_schema`).
    pub database_schema: Option<String>,
    /// `None`: Uplift's default (host name and a hash of the tus directory).
    pub instance_id: Option<String>,
    pub bind: String,
    pub public_url: Option<String>,
    pub cors_origins: Vec<String>,
    /// `UPLIFT_DIRECT_MULTIPART_THRESHOLD`, in bytes (`UpliftBuilder::direct_multipart_threshold`).
    pub direct_multipart_threshold: Option<u64>,
    /// `UPLIFT_S3_CORS_ORIGINS`: set as the bucket's CORS rule at start.
    pub s3_cors_origins: Vec<String>,
    /// `UPLIFT_SECRET`, if set. Never printed.
    secret: Option<String>,
}

/// An unset or empty variable counts as absent.
fn var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// A comma-separated variable.
fn list(name: &str) -> Vec<String> {
    var(name)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

impl Settings {
    pub fn from_env() -> Settings {
        Settings {
            data_dir: var("UPLIFT_DATA_DIR").map_or_else(|| PathBuf::from("data"), PathBuf::from),
            database_url: var("DATABASE_URL"),
            database_schema: var("DATABASE_SCHEMA"),
            instance_id: var("UPLIFT_INSTANCE_ID"),
            bind: var("UPLIFT_BIND").unwrap_or_else(|| "127.0.0.1:8080".into()),
            public_url: var("UPLIFT_PUBLIC_URL"),
            cors_origins: list("UPLIFT_CORS_ORIGINS"),
            s3_cors_origins: list("UPLIFT_S3_CORS_ORIGINS"),
            direct_multipart_threshold: var("UPLIFT_DIRECT_MULTIPART_THRESHOLD")
                .and_then(|v| v.parse().ok()),
            secret: var("UPLIFT_SECRET"),
        }
    }

    pub fn secret_path(&self) -> PathBuf {
        self.data_dir.join("secret.key")
    }

    /// The URL-signing secret: `UPLIFT_SECRET`, else `secret.key` in the data dir, else a new
    /// random one written there (mode 0600). The secret itself is never logged.
    pub fn load_secret(&self) -> Result<(Vec<u8>, SecretSource), String> {
        if let Some(s) = &self.secret {
            if s.len() < MIN_SECRET_LEN {
                return Err(format!(
                    "UPLIFT_SECRET is {} bytes long; use at least {MIN_SECRET_LEN} (for example `openssl rand -hex 32`)",
                    s.len()
                ));
            }
            return Ok((s.as_bytes().to_vec(), SecretSource::Env));
        }
        let path = self.secret_path();
        match read_secret_file(&path)? {
            Some(secret) => Ok((secret, SecretSource::File(path))),
            None => {
                let generated: [u8; 32] = rand::random();
                match write_new_secret_file(&path, &hex(&generated)) {
                    Ok(()) => Ok((generated.to_vec(), SecretSource::Generated(path))),
                    // Another instance started at the same moment and won: use its secret.
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        let secret = read_secret_file(&path)?
                            .ok_or_else(|| format!("{} vanished while starting", path.display()))?;
                        Ok((secret, SecretSource::File(path)))
                    }
                    Err(e) => Err(format!("could not write {}: {e}", path.display())),
                }
            }
        }
    }
}

/// Where the signing secret came from, for the startup log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    Env,
    File(PathBuf),
    Generated(PathBuf),
}

fn read_secret_file(path: &Path) -> Result<Option<Vec<u8>>, String> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("could not read {}: {e}", path.display())),
    };
    let secret = unhex(text.trim()).ok_or_else(|| {
        format!(
            "{} is not a hex-encoded secret; delete it to generate a new one (URLs signed with the old one stop working)",
            path.display()
        )
    })?;
    if secret.len() < MIN_SECRET_LEN {
        return Err(format!(
            "{} holds {} bytes; at least {MIN_SECRET_LEN} are required",
            path.display(),
            secret.len()
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(
                    "{} is readable by other users; `chmod 600` it",
                    path.display()
                );
            }
        }
    }
    Ok(Some(secret))
}

/// Writes the secret to a private temporary file, fsyncs it, then links it into place: the
/// link fails if `path` exists, so a secret is never overwritten and never seen half-written.
fn write_new_secret_file(path: &Path, contents: &str) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let suffix: [u8; 8] = rand::random();
    let tmp = dir.join(format!(".secret.key.{}", hex(&suffix)));
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = (|| {
        let mut file = options.open(&tmp)?;
        file.write_all(contents.as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        fs::hard_link(&tmp, path)
    })();
    let _ = fs::remove_file(&tmp);
    result?;
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(dir: &Path) -> Settings {
        Settings {
            data_dir: dir.to_path_buf(),
            database_url: None,
            database_schema: None,
            instance_id: None,
            bind: "127.0.0.1:0".into(),
            public_url: None,
            cors_origins: Vec::new(),
            direct_multipart_threshold: None,
            s3_cors_origins: Vec::new(),
            secret: None,
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let suffix: [u8; 8] = rand::random();
        let dir = std::env::temp_dir().join(format!("uplift-demo-{name}-{}", hex(&suffix)));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_generated_secret_is_private_and_reused() {
        let dir = temp_dir("secret");
        let s = settings(&dir);
        let (first, source) = s.load_secret().unwrap();
        assert_eq!(source, SecretSource::Generated(dir.join("secret.key")));
        assert_eq!(first.len(), 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.join("secret.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (second, source) = s.load_secret().unwrap();
        assert_eq!(source, SecretSource::File(dir.join("secret.key")));
        assert_eq!(first, second);
        // Only the secret file is left behind.
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("secret.key")]);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn env_secrets_must_be_long_enough_and_garbage_files_are_refused() {
        let dir = temp_dir("env");
        let mut s = settings(&dir);
        s.secret = Some("short".into());
        assert!(s.load_secret().unwrap_err().contains("at least 32"));
        s.secret = Some("x".repeat(40));
        assert_eq!(
            s.load_secret().unwrap(),
            (vec![b'x'; 40], SecretSource::Env)
        );
        s.secret = None;
        fs::write(dir.join("secret.key"), "not hex at all").unwrap();
        assert!(s
            .load_secret()
            .unwrap_err()
            .contains("not a hex-encoded secret"));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(
            unhex(&hex(&[0, 1, 0xab, 0xff])),
            Some(vec![0, 1, 0xab, 0xff])
        );
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
    }
}
