//! A throwaway PostgreSQL server for the store's PostgreSQL engine: `initdb` into a temp
//! folder and `postgres` on a free loopback port (Debian's `postgresql` package,
//! installed by `.ci/run`; no system service).
//!
//! PostgreSQL refuses to run as root, and CI runs as root: the server then runs as the
//! `postgres` system user the package creates. One server serves the whole test binary
//! ([`shared`]); each test takes a database of its own ([`Postgres::fresh_database`]).
//! The server is started by a small shell that waits on a pipe from this process and
//! stops the server and removes its folder when the pipe closes, i.e. when the test
//! binary exits, however it exits.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::brokers::free_port;

/// The running server.
pub struct Postgres {
    pub port: u16,
    /// The PEM certificate the server presents to TLS clients (`sslmode=require`): a
    /// client trusts it as its CA.
    pub ca_file: PathBuf,
    bin: PathBuf,
    /// The shell that runs the server; its stdin is held open for the life of the
    /// process, and its closing stops the server.
    _shell: Mutex<(Child, ChildStdin)>,
}

static SHARED: OnceLock<Postgres> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

/// The test binary's server, started on first use.
pub fn shared() -> &'static Postgres {
    SHARED.get_or_init(Postgres::start)
}

/// [`Postgres::database_for`] on the shared server.
pub fn database_for(data: &Path) -> String {
    shared().database_for(data)
}

/// Whether this run puts the store on PostgreSQL (`WAGATE_TEST_STORE=postgres`): the
/// store tests then run against the PostgreSQL engine instead of redb.
pub fn selected() -> bool {
    std::env::var("WAGATE_TEST_STORE").is_ok_and(|v| v == "postgres")
}

/// The newest PostgreSQL server binaries installed (`/usr/lib/postgresql/<v>/bin`).
fn bin_dir() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).expect(
        "PostgreSQL's server is not installed (apt-get install -y postgresql; .ci/run does it)",
    )
}

/// The uid and gid to run the server as: ours, or `postgres`'s when we are root.
fn server_user() -> Option<(u32, u32)> {
    let uid = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .unwrap_or(0);
    if uid != 0 {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").expect("reading /etc/passwd");
    let line = passwd
        .lines()
        .find(|l| l.starts_with("postgres:"))
        .expect("running as root, and there is no `postgres` user to run PostgreSQL as");
    let fields: Vec<&str> = line.split(':').collect();
    Some((fields[2].parse().unwrap(), fields[3].parse().unwrap()))
}

fn as_server_user(cmd: &mut Command, user: Option<(u32, u32)>) -> &mut Command {
    if let Some((uid, gid)) = user {
        std::os::unix::process::CommandExt::uid(cmd, uid);
        std::os::unix::process::CommandExt::gid(cmd, gid);
    }
    cmd
}

impl Postgres {
    fn start() -> Postgres {
        let bin = bin_dir();
        let user = server_user();
        // A folder of our own under /tmp, owned by the server's user (kept: the shell
        // below removes it when the server stops).
        let dir = tempfile::Builder::new()
            .prefix("wagate-pg-")
            .tempdir()
            .unwrap()
            .keep();
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).unwrap();
        }
        let data = dir.join("data");
        let out = as_server_user(&mut Command::new(bin.join("initdb")), user)
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "wagate",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .current_dir(&dir)
            .output()
            .expect("running initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // TLS for the clients that ask for it (plain connections stay allowed): a
        // self-signed certificate for the loopback address, its key readable by the
        // server's user only, as PostgreSQL requires.
        let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()])
            .expect("self-signed certificate");
        let ca_file = dir.join("ca.pem");
        std::fs::write(&ca_file, cert.cert.pem()).unwrap();
        for (name, pem, mode) in [
            ("server.crt", cert.cert.pem(), 0o644),
            ("server.key", cert.signing_key.serialize_pem(), 0o600),
        ] {
            let path = data.join(name);
            std::fs::write(&path, pem).unwrap();
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(mode))
                .unwrap();
            if let Some((uid, gid)) = user {
                std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
            }
        }
        let port = free_port();
        // Durability is not what these tests check: a throwaway server skips fsync.
        let server = format!(
            "'{bin}/postgres' -D '{data}' -p {port} -k '{dir}' -c listen_addresses=127.0.0.1 \
             -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 \
             -c ssl=on",
            bin = bin.display(),
            data = data.display(),
            dir = dir.display(),
        );
        let script = format!(
            "{server} > '{log}' 2>&1 & pid=$!; cat > /dev/null; kill -QUIT $pid; wait $pid; rm -rf '{dir}'",
            log = dir.join("server.log").display(),
            dir = dir.display(),
        );
        let mut child = as_server_user(&mut Command::new("sh"), user)
            .args(["-c", &script])
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting postgres");
        let lifeline = child.stdin.take().unwrap();
        let pg = Postgres {
            port,
            ca_file,
            bin,
            _shell: Mutex::new((child, lifeline)),
        };
        pg.wait_ready(&dir);
        pg
    }

    fn wait_ready(&self, dir: &Path) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ok = self
                .psql("postgres", "select 1")
                .is_ok_and(|o| o.status.success());
            if ok {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "postgres did not start: {}",
                std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn psql(&self, db: &str, sql: &str) -> std::io::Result<std::process::Output> {
        Command::new(self.bin.join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "wagate",
            ])
            .args([
                "-d",
                db,
                "-v",
                "ON_ERROR_STOP=1",
                "-X",
                "-q",
                "-A",
                "-t",
                "-c",
                sql,
            ])
            .output()
    }

    /// Runs `sql` in database `db` and returns what it printed (unaligned, no headers).
    pub fn query(&self, db: &str, sql: &str) -> String {
        let out = self.psql(db, sql).expect("running psql");
        assert!(
            out.status.success(),
            "psql failed on {sql:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// The URL of the database that goes with data folder `data`: created empty the
    /// first time the folder is named, the same one after.
    pub fn database_for(&self, data: &Path) -> String {
        static BY_FOLDER: OnceLock<Mutex<HashMap<PathBuf, String>>> = OnceLock::new();
        let mut by_folder = BY_FOLDER.get_or_init(Default::default).lock().unwrap();
        by_folder
            .entry(data.to_path_buf())
            .or_insert_with(|| self.fresh_database())
            .clone()
    }

    /// The URL of a new, empty database.
    pub fn fresh_database(&self) -> String {
        let name = format!(
            "t{}_{}",
            std::process::id(),
            NEXT_DB.fetch_add(1, Ordering::Relaxed)
        );
        self.query("postgres", &format!("create database {name}"));
        self.url(&name)
    }

    /// The URL of database `db`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://wagate@127.0.0.1:{}/{db}", self.port)
    }

    /// The database name in a URL [`Postgres::url`] gave.
    pub fn database_of(url: &str) -> &str {
        url.rsplit('/').next().unwrap()
    }
}
