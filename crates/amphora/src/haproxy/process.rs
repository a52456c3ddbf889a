//! One load balancer's haproxy process: Debian's binary in master-worker mode, with its files
//! in a directory of its own (seed 004's layout: `haproxy.cfg`, `haproxy.pid`, and the
//! master's CLI socket `master.sock`), so that `ps` shows which load balancer a master serves.
//! A new configuration is checked with `haproxy -c` first: one haproxy refuses is refused with
//! haproxy's own words, and the running one stays. A valid one replaces it by a seamless
//! reload: the master re-executes itself and hands the listening sockets to the new worker.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

#[derive(Debug, thiserror::Error)]
pub enum HaproxyError {
    #[error("haproxy is not installed (Debian package haproxy)")]
    Missing,
    /// `haproxy -c` refuses the configuration, for these reasons (its ALERT lines).
    #[error("haproxy refuses the configuration: {0}")]
    Refused(String),
    #[error("{0}")]
    Failed(String),
}

pub struct Haproxy {
    dir: PathBuf,
    master: Option<Child>,
}

/// What the master's `show proc` says.
#[derive(Default)]
struct Processes {
    workers: Vec<u32>,
    failed_reloads: u64,
}

/// The master's CLI socket, in its directory.
const MASTER_SOCKET: &str = "master.sock";

/// A UNIX socket `name` in `dir`, however long `dir`'s path: through the directory's
/// descriptor (`/proc/self/fd/N/name`) when the whole path is too long for a socket address.
pub async fn connect(dir: &Path, name: &str) -> std::io::Result<tokio::net::UnixStream> {
    let path = dir.join(name);
    if path.as_os_str().len() < 100 {
        return tokio::net::UnixStream::connect(&path).await;
    }
    let handle = std::fs::File::open(dir)?;
    use std::os::fd::AsRawFd;
    let short = format!("/proc/self/fd/{}/{name}", handle.as_raw_fd());
    let stream = tokio::net::UnixStream::connect(&short).await;
    drop(handle);
    stream
}

/// How often a start or a reload is looked at (a `show proc` on the master's socket).
const POLL: Duration = Duration::from_millis(5);

/// How long a start or a reload may take before it counts as failed.
const READY: Duration = Duration::from_secs(10);

impl Haproxy {
    /// The haproxy of the load balancer whose directory is `dir` (made if missing).
    pub fn new(dir: &Path) -> Haproxy {
        Haproxy {
            // It runs in its directory: a relative path would resolve twice.
            dir: std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()),
            master: None,
        }
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("haproxy.cfg")
    }

    fn socket(&self) -> PathBuf {
        self.dir.join(MASTER_SOCKET)
    }

    /// The master's pid while it runs.
    pub fn pid(&mut self) -> Option<u32> {
        let master = self.master.as_mut()?;
        match master.try_wait() {
            Ok(None) => master.id(),
            _ => None,
        }
    }

    /// Serves `rendered`: checked, then started or reloaded into. Ready when it returns.
    pub async fn apply(&mut self, rendered: &str) -> Result<(), HaproxyError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| failed(&self.dir, e))?;
        let next = self.dir.join("haproxy.cfg.next");
        std::fs::write(&next, rendered).map_err(|e| failed(&next, e))?;
        check(&next).await?;
        let config = self.config_path();
        std::fs::rename(&next, &config).map_err(|e| failed(&config, e))?;
        match self.pid() {
            Some(pid) => self.reload(pid).await,
            None => self.start(global_maxconn(rendered)).await,
        }
    }

    /// Starts the master. `maxconn`: the configuration's; where the descriptors this
    /// process may have cannot serve it, haproxy is told the most they can (`-n`), or it
    /// would refuse to start.
    async fn start(&mut self, maxconn: Option<u64>) -> Result<(), HaproxyError> {
        let socket = self.socket();
        let _ = std::fs::remove_file(&socket);
        let log = std::fs::File::create(self.dir.join("haproxy.log"))
            .map_err(|e| failed(&self.dir, e))?;
        let mut command = Command::new("haproxy");
        // Octavia's maxconn (50,000 per listener) needs about two and a half descriptors per
        // connection (two sockets, and splicing's pipes). And haproxy stops when the process
        // that runs it dies (an amphora process killed, a crash): a master left behind would
        // go on answering on the VIP beside the amphora that replaces it. (The signal follows
        // the spawning thread: a runtime's worker, which lives as long as the runtime.)
        // Safety: only async-signal-safe calls (getrlimit, setrlimit, prctl) between fork
        // and exec.
        let parent = std::process::id() as libc::pid_t;
        unsafe {
            command.pre_exec(move || {
                raise_fd_limit();
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                // The parent died before the signal was asked for: none will come.
                if libc::getppid() != parent {
                    return Err(std::io::Error::other("the parent is gone"));
                }
                Ok(())
            });
        }
        let most = fd_limit() / 3;
        if let Some(wanted) = maxconn.filter(|m| *m > most) {
            tracing::warn!(
                wanted,
                most,
                "haproxy's maxconn capped by this process's descriptor limit"
            );
            command.arg("-n").arg(most.to_string());
        }
        // Socket paths are relative to its directory (a UNIX socket's path has at most 107
        // bytes, and a data dir may be deep).
        let child = command
            .current_dir(&self.dir)
            .arg("-W")
            .arg("-db")
            .arg("-f")
            .arg(self.config_path())
            .arg("-p")
            .arg(self.dir.join("haproxy.pid"))
            .arg("-S")
            .arg(format!("unix@{MASTER_SOCKET}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .map_err(spawn_error)?;
        self.master = Some(child);
        self.until_workers(|n| n >= 1).await
    }

    /// SIGUSR2 to the master: it re-reads the configuration and starts a new worker with
    /// the listening sockets; the old one finishes its connections.
    async fn reload(&mut self, pid: u32) -> Result<(), HaproxyError> {
        let before = self.processes().await?;
        // Safety: kill(2) on our own child, which has not been reaped.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGUSR2);
        }
        self.until_reloaded(&before).await
    }

    /// The current workers' pids (not the old ones finishing their connections), from the
    /// master's `show proc`.
    pub async fn workers(&self) -> Result<Vec<u32>, HaproxyError> {
        Ok(self.processes().await?.workers)
    }

    /// The master's `show proc`: its current workers, and how many reloads failed.
    async fn processes(&self) -> Result<Processes, HaproxyError> {
        let answer = self.ask("show proc").await?;
        let mut found = Processes::default();
        let mut old = false;
        for line in answer.lines() {
            if line.starts_with('#') {
                old = line.contains("old");
                continue;
            }
            let mut words = line.split_whitespace();
            match (words.next(), words.next()) {
                (Some(pid), Some("worker")) if !old => {
                    found.workers.extend(pid.parse::<u32>().ok())
                }
                (Some(_), Some("master")) => {
                    // `<pid> master <reloads> [failed: N] <uptime> <version>`
                    found.failed_reloads = line
                        .split("[failed: ")
                        .nth(1)
                        .and_then(|rest| rest.split(']').next()?.trim().parse().ok())
                        .unwrap_or(0);
                }
                _ => {}
            }
        }
        Ok(found)
    }

    /// `show stat` of the current worker, as HAProxy's CSV (header line first).
    pub async fn show_stat(&self) -> Result<String, HaproxyError> {
        self.ask_worker("show stat").await
    }

    /// `show servers state` of the current worker (what `server-state-file` loads).
    pub async fn show_servers_state(&self) -> Result<String, HaproxyError> {
        self.ask_worker("show servers state").await
    }

    /// One command of HAProxy's CLI to the current worker, through the master.
    pub async fn ask_worker(&self, command: &str) -> Result<String, HaproxyError> {
        let workers = self.workers().await?;
        let worker = workers
            .first()
            .ok_or_else(|| HaproxyError::Failed("haproxy has no worker".into()))?;
        self.ask(&format!("@!{worker} {command}")).await
    }

    /// One command on the master's CLI socket.
    async fn ask(&self, command: &str) -> Result<String, HaproxyError> {
        let socket = self.socket();
        let mut stream = connect(&self.dir, MASTER_SOCKET)
            .await
            .map_err(|e| failed(&socket, e))?;
        stream
            // The master's CLI keeps a connection open until told to quit.
            .write_all(format!("{command}; quit\n").as_bytes())
            .await
            .map_err(|e| failed(&socket, e))?;
        let mut answer = String::new();
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut answer))
            .await
            .map_err(|_| HaproxyError::Failed(format!("{}: no answer", socket.display())))?
            .map_err(|e| failed(&socket, e))?;
        Ok(answer)
    }

    async fn until_workers(&mut self, ready: impl Fn(usize) -> bool) -> Result<(), HaproxyError> {
        let started = Instant::now();
        loop {
            if self.pid().is_none() {
                return Err(HaproxyError::Failed(format!(
                    "haproxy exited: {}",
                    last_lines(&self.dir.join("haproxy.log"))
                )));
            }
            if let Ok(workers) = self.workers().await {
                if ready(workers.len()) {
                    return Ok(());
                }
            }
            if started.elapsed() > READY {
                return Err(HaproxyError::Failed(
                    "haproxy did not start a worker".into(),
                ));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Until a new worker runs, or the master says the reload failed (the old worker then
    /// serves on).
    async fn until_reloaded(&mut self, before: &Processes) -> Result<(), HaproxyError> {
        let started = Instant::now();
        loop {
            if let Ok(now) = self.processes().await {
                if now.workers.iter().any(|w| !before.workers.contains(w)) {
                    return Ok(());
                }
                if now.failed_reloads > before.failed_reloads {
                    return Err(HaproxyError::Failed(format!(
                        "haproxy could not load the new configuration: {}",
                        last_lines(&self.dir.join("haproxy.log"))
                    )));
                }
            }
            if started.elapsed() > READY || self.pid().is_none() {
                return Err(HaproxyError::Failed(format!(
                    "haproxy did not reload: {}",
                    last_lines(&self.dir.join("haproxy.log"))
                )));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Stops the master and its workers (SIGTERM: at once, as a deleted load balancer).
    pub async fn stop(&mut self) {
        if let Some(mut master) = self.master.take() {
            if let Some(pid) = master.id() {
                // Safety: kill(2) on our own child, which has not been reaped.
                unsafe {
                    libc::kill(pid as libc::pid_t, libc::SIGTERM);
                }
            }
            if tokio::time::timeout(Duration::from_secs(5), master.wait())
                .await
                .is_err()
            {
                let _ = master.kill().await;
            }
        }
    }
}

/// Is haproxy on this machine (an executable `haproxy` on the PATH)?
pub fn installed() -> Result<(), HaproxyError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path).any(|dir| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(dir.join("haproxy"))
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    });
    if found {
        Ok(())
    } else {
        Err(HaproxyError::Missing)
    }
}

/// `haproxy -c`: Ok, or its ALERT lines.
async fn check(config: &Path) -> Result<(), HaproxyError> {
    let out = Command::new("haproxy")
        .current_dir(config.parent().unwrap_or(Path::new("/")))
        .arg("-c")
        .arg("-f")
        .arg(config)
        .output()
        .await
        .map_err(spawn_error)?;
    if out.status.success() {
        return Ok(());
    }
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    let alerts: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("[ALERT]"))
        .map(str::trim)
        .collect();
    Err(HaproxyError::Refused(if alerts.is_empty() {
        text.trim().to_string()
    } else {
        alerts.join("; ")
    }))
}

/// The `maxconn` of the configuration's global section.
fn global_maxconn(rendered: &str) -> Option<u64> {
    let global = rendered.split("\n\n").next()?;
    global
        .lines()
        .find_map(|l| l.trim().strip_prefix("maxconn ")?.trim().parse().ok())
}

/// The descriptors haproxy will have (the hard limit, less a reserve for its own use).
fn fd_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // Safety: getrlimit on a local struct.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return 1024;
    }
    limit.rlim_max.saturating_sub(RESERVED_FDS)
}

/// Descriptors haproxy keeps for itself (listeners, logs, sockets to its master).
const RESERVED_FDS: u64 = 256;

/// As many descriptors as the system gives (root may raise the hard limit too).
fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // Safety: getrlimit/setrlimit on a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return;
        }
        let wanted = libc::rlimit {
            rlim_cur: FD_LIMIT.max(limit.rlim_max),
            rlim_max: FD_LIMIT.max(limit.rlim_max),
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) != 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// Descriptors asked for: Octavia's amphora image allows a million.
const FD_LIMIT: libc::rlim_t = 1_048_576;

fn spawn_error(e: std::io::Error) -> HaproxyError {
    match e.kind() {
        std::io::ErrorKind::NotFound => HaproxyError::Missing,
        _ => HaproxyError::Failed(format!("haproxy: {e}")),
    }
}

fn failed(path: &Path, e: std::io::Error) -> HaproxyError {
    HaproxyError::Failed(format!("{}: {e}", path.display()))
}

fn last_lines(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().rev().take(3).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
}
