//! Two keepalived instances rendered by `amphora::keepalived`, each in a network namespace of
//! its own on one bridge (the pair of an ACTIVE_STANDBY load balancer): the higher priority
//! takes the VIP, the state files say who holds it, the BACKUP takes over within a second
//! when the MASTER dies, and the MASTER that comes back does not take the VIP back
//! (`nopreempt`). Needs root and keepalived; skips with a message without them.

use amphora::keepalived::{notify_script, read_state, Vrrp, VrrpState};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const VIP: &str = "10.77.0.100";

fn sh(args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The namespaces and keepalived processes of one run, removed when dropped.
struct Lab {
    tag: String,
    /// Member, its keepalived, the pid file of that keepalived's VRRP child.
    keepalived: Vec<(usize, Child, PathBuf)>,
    starts: usize,
    dir: tempfile::TempDir,
}

impl Lab {
    fn ns(&self, name: &str) -> String {
        format!("ostia-vrrp-{name}-{}", self.tag)
    }

    fn new() -> Lab {
        let lab = Lab {
            tag: format!("{:x}", std::process::id()),
            keepalived: Vec::new(),
            starts: 0,
            dir: tempfile::tempdir().expect("temp dir"),
        };
        let switch = lab.ns("sw");
        sh(&["ip", "netns", "add", &switch]);
        sh(&["ip", "-n", &switch, "link", "add", "br0", "type", "bridge"]);
        sh(&["ip", "-n", &switch, "link", "set", "br0", "up"]);
        for (i, name) in ["a", "b"].iter().enumerate() {
            let ns = lab.ns(name);
            sh(&["ip", "netns", "add", &ns]);
            sh(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
            let port = format!("p{i}");
            sh(&[
                "ip", "-n", &switch, "link", "add", &port, "type", "veth", "peer", "name", "eth0",
                "netns", &ns,
            ]);
            sh(&[
                "ip", "-n", &switch, "link", "set", &port, "master", "br0", "up",
            ]);
            let own = format!("10.77.0.{}/24", 11 + i);
            sh(&["ip", "-n", &ns, "addr", "add", &own, "dev", "eth0"]);
            sh(&["ip", "-n", &ns, "link", "set", "eth0", "up"]);
        }
        lab
    }

    fn member(&self, i: usize) -> Vrrp {
        let dir = self.dir.path().join(format!("amp{i}"));
        std::fs::create_dir_all(&dir).expect("dir");
        let own: IpAddr = format!("10.77.0.{}", 11 + i).parse().unwrap();
        let peer: IpAddr = format!("10.77.0.{}", 12 - i).parse().unwrap();
        Vrrp {
            group: "0b3c1d2e4f5a6b7c8d9e0f1a2b3c4d5e".into(),
            interface: "eth0".into(),
            priority: if i == 0 { 100 } else { 90 },
            virtual_router_id: 1,
            advert_int: Duration::from_millis(100),
            auth_pass: "1a2b3c4".into(),
            own_ip: own,
            peers: vec![peer],
            vips: vec![(VIP.parse().unwrap(), 24)],
            check_script: None,
            state_file: dir.join("vrrp.state"),
            notify_script: dir.join("notify.sh"),
        }
    }

    /// Writes member `i`'s files and starts its keepalived in its namespace.
    fn start(&mut self, i: usize) -> Vrrp {
        use std::os::unix::fs::PermissionsExt;
        let vrrp = self.member(i);
        let dir = vrrp.state_file.parent().unwrap().to_path_buf();
        let _ = std::fs::remove_file(&vrrp.state_file);
        std::fs::write(&vrrp.notify_script, notify_script(&vrrp.state_file)).unwrap();
        std::fs::set_permissions(&vrrp.notify_script, std::fs::Permissions::from_mode(0o755))
            .unwrap();
        let conf = dir.join("keepalived.conf");
        std::fs::write(&conf, vrrp.render()).unwrap();
        let ns = self.ns(["a", "b"][i]);
        // Pid files of their own each time: keepalived refuses to start over a live one.
        self.starts += 1;
        let (pid, vrrp_pid) = (
            dir.join(format!("keepalived-{}.pid", self.starts)),
            dir.join(format!("vrrp-{}.pid", self.starts)),
        );
        let log =
            std::fs::File::create(dir.join(format!("keepalived-{}.log", self.starts))).unwrap();
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &ns,
                "keepalived",
                "--dont-fork",
                "--log-console",
                "--vrrp",
            ])
            .args(["--use-file", &conf.to_string_lossy()])
            .args([
                "--pid",
                &pid.to_string_lossy(),
                "--vrrp_pid",
                &vrrp_pid.to_string_lossy(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("keepalived starts");
        self.keepalived.push((i, child, vrrp_pid));
        vrrp
    }

    /// Kills member `i` as an amphora dies: its link goes, then its keepalived (SIGKILL, the
    /// VRRP child too).
    fn kill(&mut self, i: usize) {
        sh(&[
            "ip",
            "-n",
            &self.ns(["a", "b"][i]),
            "link",
            "set",
            "eth0",
            "down",
        ]);
        self.stop(i);
        // The dead amphora's addresses go with it.
        let _ = Command::new("ip")
            .args([
                "-n",
                &self.ns(["a", "b"][i]),
                "addr",
                "del",
                &format!("{VIP}/24"),
                "dev",
                "eth0",
            ])
            .output();
    }

    fn holds_vip(&self, i: usize) -> bool {
        let out = sh(&[
            "ip",
            "-n",
            &self.ns(["a", "b"][i]),
            "-o",
            "addr",
            "show",
            "dev",
            "eth0",
        ]);
        out.contains(&format!(" {VIP}/"))
    }
}

impl Lab {
    fn stop(&mut self, i: usize) {
        for (_, child, vrrp_pid) in self.keepalived.iter_mut().filter(|(m, _, _)| *m == i) {
            let _ = child.kill();
            let _ = child.wait();
            if let Some(pid) = std::fs::read_to_string(&*vrrp_pid)
                .ok()
                .and_then(|p| p.trim().parse::<i32>().ok())
            {
                // Safety: kill(2) on the pid keepalived wrote; at worst it is gone already.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        }
        self.keepalived.retain(|(m, _, _)| *m != i);
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.stop(0);
        self.stop(1);
        for name in ["a", "b", "sw"] {
            let _ = Command::new("ip")
                .args(["netns", "del", &self.ns(name)])
                .output();
        }
    }
}

/// Polls every 5 ms until `check` holds; how long it took, or None after `limit`.
fn wait(limit: Duration, mut check: impl FnMut() -> bool) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if check() {
            return Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

fn state(vrrp: &Vrrp) -> Option<VrrpState> {
    read_state(&vrrp.state_file)
}

fn runnable() -> bool {
    // Safety: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!(
            "skip - keepalived pair: network namespaces need root (CAP_SYS_ADMIN, CAP_NET_ADMIN)"
        );
        return false;
    }
    if Command::new("keepalived")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!(
            "skip - keepalived pair: keepalived is not installed (Debian package keepalived)"
        );
        return false;
    }
    true
}

#[test]
fn the_backup_takes_the_vip_within_a_second_and_the_state_files_tell_the_truth() {
    if !runnable() {
        return;
    }
    let mut lab = Lab::new();
    let members = [lab.start(0), lab.start(1)];
    let limit = Duration::from_secs(10);
    // Both start BACKUP and elect; with nopreempt the first to claim keeps it, so the test
    // asks only that exactly one holds the VIP and that both state files say so.
    let truthful = |lab: &Lab, master: usize| {
        let backup = 1 - master;
        lab.holds_vip(master)
            && !lab.holds_vip(backup)
            && state(&members[master]) == Some(VrrpState::Master)
            && state(&members[backup]) == Some(VrrpState::Backup)
    };
    let mut master = None;
    wait(limit, || {
        master = (0..2).find(|m| truthful(&lab, *m));
        master.is_some()
    });
    let master = master.unwrap_or_else(|| {
        panic!(
            "one member should hold the VIP and both say so: {:?} {:?}; logs in {}",
            state(&members[0]),
            state(&members[1]),
            keep(&lab)
        )
    });
    let backup = 1 - master;

    lab.kill(master);
    let took_over = wait(limit, || {
        lab.holds_vip(backup) && state(&members[backup]) == Some(VrrpState::Master)
    })
    .unwrap_or_else(|| panic!("the BACKUP never took over; logs in {}", keep(&lab)));
    println!(
        "MASTER killed: the BACKUP held the VIP and said MASTER after {:.0} ms (its Master_Down_Interval {} ms; Octavia's defaults ≈3650 ms)",
        took_over.as_secs_f64() * 1000.0,
        members[backup].master_down_interval().as_millis()
    );

    // The dead member comes back: it rejoins as BACKUP and, nopreempt, takes nothing back.
    sh(&[
        "ip",
        "-n",
        &lab.ns(["a", "b"][master]),
        "link",
        "set",
        "eth0",
        "up",
    ]);
    let back = lab.start(master);
    let rejoined = wait(limit, || state(&back) == Some(VrrpState::Backup));
    assert!(
        rejoined.is_some(),
        "the old MASTER should rejoin as BACKUP: {:?}; logs in {}",
        state(&back),
        keep(&lab)
    );
    // Proving a negative: several of its Master_Down_Intervals, time enough to preempt.
    std::thread::sleep(back.master_down_interval() * 3);
    assert!(
        truthful(&lab, backup),
        "the VIP moved back or the states lie; logs in {}",
        keep(&lab)
    );
}

/// Keeps the run's files for a failure message.
fn keep(lab: &Lab) -> String {
    let path: &Path = lab.dir.path();
    let kept: PathBuf = std::env::temp_dir().join(format!("ostia-vrrp-{}", lab.tag));
    let _ = Command::new("cp")
        .args(["-r", &path.to_string_lossy(), &kept.to_string_lossy()])
        .output();
    kept.display().to_string()
}
