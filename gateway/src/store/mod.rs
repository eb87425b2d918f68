//! The gateway's database: SQLite (the default, a file in the data directory) or PostgreSQL
//! (`database.url = "postgres://..."`, so several gateways can share one database) through
//! sqlx, with migrations embedded from `gateway/migrations/sqlite/` and
//! `gateway/migrations/postgres/`. Every query is plain SQL both accept: `$n` placeholders,
//! `BIGINT` times, `ON CONFLICT`; [`on_db!`] runs one body against whichever pool is open. Users of the embedded registrar (RFC 3261 §10.3, §22.4) hold
//! HA1 = H(user:realm:password) for MD5 and SHA-256 (RFC 7616 §3.4.2, RFC 8760), never the
//! password itself; [`location`] persists registrations and [`calls`] the call log.

pub mod calls;
pub mod location;

use sipsimple::auth::{ha1, Algorithm};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::Row;
use std::fmt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// The database file inside the data directory.
pub const DB_FILE: &str = "gateway.db";

/// Why a store operation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// The data directory could not be created.
    Io(std::io::Error),
    /// The database said no.
    Db(sqlx::Error),
    /// The embedded migrations could not be applied.
    Migrate(sqlx::migrate::MigrateError),
    /// The user name is not a valid SIP user part.
    InvalidName(String),
    /// `user add` of a name that exists.
    Exists(String),
    /// The user does not exist.
    NoSuchUser(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Io(e) => write!(f, "data directory: {e}"),
            StoreError::Db(e) => write!(f, "database: {e}"),
            StoreError::Migrate(e) => write!(f, "database migration: {e}"),
            StoreError::InvalidName(n) => write!(
                f,
                "{n:?} is not a valid user name (1 to 64 letters, digits or -_.!~*'())"
            ),
            StoreError::Exists(n) => write!(f, "user {n} already exists"),
            StoreError::NoSuchUser(n) => write!(f, "no user {n}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Db(e)
    }
}

/// The stored digest secrets of one user in one realm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashes {
    /// Hex MD5 of `user:realm:password`.
    pub md5: String,
    /// Hex SHA-256 of `user:realm:password`.
    pub sha256: String,
}

impl Hashes {
    /// Computes both hashes.
    pub fn new(user: &str, realm: &str, password: &str) -> Hashes {
        Hashes {
            md5: ha1(Algorithm::Md5, user, realm, password),
            sha256: ha1(Algorithm::Sha256, user, realm, password),
        }
    }

    /// The HA1 for `algorithm`.
    pub fn for_algorithm(&self, algorithm: Algorithm) -> &str {
        match algorithm {
            Algorithm::Md5 => &self.md5,
            Algorithm::Sha256 => &self.sha256,
        }
    }
}

/// One row of `user list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// The user name.
    pub name: String,
    /// The realm the hashes were made for.
    pub realm: String,
    /// Seconds since the Unix epoch.
    pub created_at: i64,
}

/// The pool of whichever database is configured.
#[derive(Debug, Clone)]
pub(crate) enum Db {
    /// The file in the data directory.
    Sqlite(SqlitePool),
    /// A shared PostgreSQL database.
    Postgres(PgPool),
}

/// Runs `$body` with `$p` bound to the open pool. The body is compiled once per backend, so
/// rows and results have their backend's concrete types and need no generic bounds; it must
/// evaluate to the same type in both.
macro_rules! on_db {
    ($store:expr, $p:ident => $body:expr) => {
        match &$store.db {
            $crate::store::Db::Sqlite($p) => $body,
            $crate::store::Db::Postgres($p) => $body,
        }
    };
}
pub(crate) use on_db;

/// Whether a database URL names PostgreSQL.
pub fn is_postgres_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// The gateway's database.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) db: Db,
    /// The cluster node this gateway is (`[cluster]`): written beside the registrations it
    /// saves. Empty for a gateway on its own.
    pub(crate) node: Node,
}

/// A cluster node as the registrations table names it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    /// `cluster.node_id`, or empty.
    pub id: String,
    /// The SIP URI other nodes reach it on, or empty.
    pub uri: String,
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Creates the data directory (and its parents) readable by its owner only; an existing
/// directory is left as it is.
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

fn check_name(name: &str) -> Result<(), StoreError> {
    if crate::config::valid_user_name(name) {
        Ok(())
    } else {
        Err(StoreError::InvalidName(name.to_string()))
    }
}

impl Store {
    /// Opens the database `url` names when it is a `postgres://` URL, else the SQLite file of
    /// [`Store::open`]; a `sqlite:` URL names the SQLite file. Applies the migrations.
    pub async fn connect(data_dir: &Path, url: Option<&str>) -> Result<Store, StoreError> {
        match url.map(str::trim).filter(|u| !u.is_empty()) {
            Some(u) if is_postgres_url(u) => Store::open_postgres(u).await,
            Some(u) => {
                let path = u
                    .strip_prefix("sqlite://")
                    .or_else(|| u.strip_prefix("sqlite:"))
                    .unwrap_or(u);
                let path = Path::new(path);
                let dir = path.parent().unwrap_or(Path::new("."));
                let dir = if dir.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    dir
                };
                Store::open_sqlite_file(dir, path).await
            }
            None => Store::open(data_dir).await,
        }
    }

    /// Connects to PostgreSQL and applies the migrations embedded from
    /// `gateway/migrations/postgres/`. Migrations take PostgreSQL's advisory lock, so
    /// gateways starting together against one database apply them once.
    pub async fn open_postgres(url: &str) -> Result<Store, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect(url)
            .await?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(StoreError::Migrate)?;
        Ok(Store {
            db: Db::Postgres(pool),
            node: Node::default(),
        })
    }

    /// Opens (creating when needed) the data directory and `gateway.db`, and applies the
    /// migrations embedded from `gateway/migrations/sqlite/`.
    pub async fn open(data_dir: &Path) -> Result<Store, StoreError> {
        Store::open_sqlite_file(data_dir, &data_dir.join(DB_FILE)).await
    }

    async fn open_sqlite_file(data_dir: &Path, db_path: &Path) -> Result<Store, StoreError> {
        create_private_dir(data_dir).map_err(StoreError::Io)?;
        let options = SqliteConnectOptions::new()
            .filename(db_path)
            .create_if_missing(true)
            // The CLI may change users while `serve` runs: wait for the other's lock.
            .busy_timeout(std::time::Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        // HA1 values are password equivalents for digest (RFC 7616 §5.5): owner only. SQLite
        // gives its journal files the database file's mode.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(db_path, std::fs::Permissions::from_mode(0o600))
                .map_err(StoreError::Io)?;
        }
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .map_err(StoreError::Migrate)?;
        Ok(Store {
            db: Db::Sqlite(pool),
            node: Node::default(),
        })
    }

    /// This store as used by cluster node `node`: the registrations it saves name the node.
    pub fn with_node(mut self, node: Node) -> Store {
        self.node = node;
        self
    }

    /// Which backend is open: `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        match self.db {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        on_db!(self, p => p.close().await);
    }

    /// Adds a user whose hashes are made for `realm`.
    pub async fn add_user(
        &self,
        name: &str,
        realm: &str,
        password: &str,
    ) -> Result<(), StoreError> {
        check_name(name)?;
        let h = Hashes::new(name, realm, password);
        let now = unix_now();
        let done = on_db!(self, p => sqlx::query(
            "INSERT INTO users (name, realm, ha1_md5, ha1_sha256, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(realm)
        .bind(&h.md5)
        .bind(&h.sha256)
        .bind(now)
        .execute(p)
        .await?
        .rows_affected());
        if done == 0 {
            return Err(StoreError::Exists(name.to_string()));
        }
        Ok(())
    }

    /// Sets a new password (and realm) for an existing user.
    pub async fn set_password(
        &self,
        name: &str,
        realm: &str,
        password: &str,
    ) -> Result<(), StoreError> {
        check_name(name)?;
        let h = Hashes::new(name, realm, password);
        let done = on_db!(self, p => sqlx::query(
            "UPDATE users SET realm = $1, ha1_md5 = $2, ha1_sha256 = $3 WHERE name = $4",
        )
        .bind(realm)
        .bind(&h.md5)
        .bind(&h.sha256)
        .bind(name)
        .execute(p)
        .await?
        .rows_affected());
        if done == 0 {
            return Err(StoreError::NoSuchUser(name.to_string()));
        }
        Ok(())
    }

    /// Removes a user.
    pub async fn remove_user(&self, name: &str) -> Result<(), StoreError> {
        let done = on_db!(self, p => sqlx::query("DELETE FROM users WHERE name = $1")
            .bind(name)
            .execute(p)
            .await?
            .rows_affected());
        if done == 0 {
            return Err(StoreError::NoSuchUser(name.to_string()));
        }
        Ok(())
    }

    /// Every user, by name.
    pub async fn list_users(&self) -> Result<Vec<UserInfo>, StoreError> {
        on_db!(self, p => {
            let rows = sqlx::query("SELECT name, realm, created_at FROM users ORDER BY name")
                .fetch_all(p)
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(UserInfo {
                        name: r.try_get("name")?,
                        realm: r.try_get("realm")?,
                        created_at: r.try_get("created_at")?,
                    })
                })
                .collect()
        })
    }

    /// How many users exist.
    pub async fn count_users(&self) -> Result<i64, StoreError> {
        on_db!(self, p => {
            let row = sqlx::query("SELECT COUNT(*) AS n FROM users")
                .fetch_one(p)
                .await?;
            Ok(row.try_get("n")?)
        })
    }

    /// The hashes of `name` when the user exists and its hashes were made for `realm`.
    pub async fn hashes(&self, name: &str, realm: &str) -> Result<Option<Hashes>, StoreError> {
        on_db!(self, p => {
            let row = sqlx::query(
                "SELECT ha1_md5, ha1_sha256 FROM users WHERE name = $1 AND realm = $2",
            )
            .bind(name)
            .bind(realm)
            .fetch_optional(p)
            .await?;
            match row {
                Some(r) => Ok(Some(Hashes {
                    md5: r.try_get("ha1_md5")?,
                    sha256: r.try_get("ha1_sha256")?,
                })),
                None => Ok(None),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn users_round_trip_without_plain_passwords() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("data")).await.expect("open");
        assert_eq!(store.count_users().await.expect("count"), 0);
        store
            .add_user("alice", "sipsimple.local", "plain-Password-7")
            .await
            .expect("add");
        // The password itself is in none of the database's files (main, WAL, shared memory).
        for entry in std::fs::read_dir(dir.path().join("data")).expect("data dir") {
            let bytes = std::fs::read(entry.expect("entry").path()).expect("file");
            assert!(!bytes.windows(16).any(|w| w == b"plain-Password-7"));
        }
        assert!(matches!(
            store.add_user("alice", "sipsimple.local", "x").await,
            Err(StoreError::Exists(_))
        ));
        assert!(matches!(
            store.add_user("al ice", "sipsimple.local", "x").await,
            Err(StoreError::InvalidName(_))
        ));
        let h = store
            .hashes("alice", "sipsimple.local")
            .await
            .expect("query")
            .expect("alice");
        assert_eq!(
            h,
            Hashes::new("alice", "sipsimple.local", "plain-Password-7")
        );
        assert_eq!(
            store.hashes("alice", "other.realm").await.expect("query"),
            None
        );
        store
            .set_password("alice", "sipsimple.local", "new")
            .await
            .expect("passwd");
        assert!(store
            .hashes("alice", "sipsimple.local")
            .await
            .expect("query")
            .is_some());
        let list = store.list_users().await.expect("list");
        assert_eq!(list.len(), 1);
        store.remove_user("alice").await.expect("remove");
        assert!(matches!(
            store.remove_user("alice").await,
            Err(StoreError::NoSuchUser(_))
        ));
        store.close().await;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode =
                |p: &Path| std::fs::metadata(p).expect("exists").permissions().mode() & 0o777;
            assert_eq!(mode(&dir.path().join("data")), 0o700);
            assert_eq!(mode(&dir.path().join("data").join(DB_FILE)), 0o600);
        }
    }
}

#[cfg(test)]
mod backend_tests;
