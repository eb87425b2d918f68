//! A throwaway PostgreSQL server for tests: `initdb` in a temporary directory, `pg_ctl start`
//! on a free loopback port with trust authentication, stopped (immediate) and removed on
//! drop. As root it runs the server as the `postgres` user, which refuses root.
//!
//! Shared by the store's unit tests (`gateway/src/store/backend_tests.rs`, through `#[path]`)
//! and the integration tests (`common::postgres`).

use std::path::PathBuf;
use std::process::Command;

/// A running PostgreSQL server of its own.
pub struct Postgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    as_postgres: bool,
    /// Its URL: `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub url: String,
}

/// The newest installed PostgreSQL's `bin` directory (Debian's `/usr/lib/postgresql/N/bin`).
pub fn postgres_bin() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|b| b.join("initdb").is_file() && b.join("pg_ctl").is_file())
        .collect();
    found.sort();
    found.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl Postgres {
    /// Runs `program args` as the `postgres` user when we are root (postgres refuses root).
    fn run(&self, program: &str, args: &[&str]) -> std::process::Output {
        let exe = self.bin.join(program);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        cmd.args(args).output().expect("run a PostgreSQL program")
    }

    /// Creates and starts a server with the programs in `bin` ([`postgres_bin`]).
    pub fn start(bin: PathBuf) -> Postgres {
        let dir = tempfile::tempdir().expect("temp dir");
        let as_postgres = is_root();
        if as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "chown the temporary directory to postgres");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let pg = Postgres {
            bin,
            as_postgres,
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            dir,
        };
        let data = pg.dir.path().join("data").display().to_string();
        let out = pg.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let opts = format!("-k {} -p {port} -h 127.0.0.1 -F", pg.dir.path().display());
        let log = pg.dir.path().join("log").display().to_string();
        let out = pg.run(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-o", &opts, "-w", "-t", "60", "start",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl start: {} {}",
            String::from_utf8_lossy(&out.stdout),
            std::fs::read_to_string(pg.dir.path().join("log")).unwrap_or_default()
        );
        pg
    }

    /// One value from the database, through `psql`.
    #[allow(dead_code)] // the store's unit tests do not query
    pub fn query(&self, sql: &str) -> String {
        let out = Command::new("psql")
            .args([&self.url, "-Atc", sql])
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data").display().to_string();
        let _ = self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
    }
}
