//! Moving bytes between a client and a member for L4 listeners: splice(2) through kernel
//! pipes on Linux (the bytes never enter user space), a buffered copy elsewhere. Idle
//! timeouts per side, as HAProxy's `timeout client` / `timeout server`: a side that is
//! quiet while the other still moves data is not idle.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

pub struct Counters<'a> {
    /// Client → member bytes.
    pub inbound: &'a [&'a AtomicU64],
    /// Member → client bytes.
    pub outbound: &'a [&'a AtomicU64],
}

struct Activity {
    start: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn touch(&self) {
        self.last_ms
            .store(self.start.elapsed().as_millis() as u64, Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let now = self.start.elapsed().as_millis() as u64;
        Duration::from_millis(now.saturating_sub(self.last_ms.load(Relaxed)))
    }
}

/// Relays until both directions ended, or a side stayed idle past its timeout.
pub async fn relay(
    client: &TcpStream,
    member: &TcpStream,
    client_idle: Duration,
    member_idle: Duration,
    counters: Counters<'_>,
) -> io::Result<()> {
    let activity = Activity {
        start: Instant::now(),
        last_ms: AtomicU64::new(0),
    };
    let up = pump(client, member, client_idle, &activity, counters.inbound);
    let down = pump(member, client, member_idle, &activity, counters.outbound);
    let (a, b) = tokio::join!(up, down);
    a.and(b)
}

/// Waits for `ready` but gives up once nothing moved in either direction for `idle`.
async fn wait<F: std::future::Future<Output = io::Result<()>>>(
    ready: impl Fn() -> F,
    idle: Duration,
    activity: &Activity,
) -> io::Result<()> {
    loop {
        let left = idle.saturating_sub(activity.idle_for());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "idle timeout"));
        }
        if let Ok(r) = tokio::time::timeout(left, ready()).await {
            return r;
        }
    }
}

#[cfg(target_os = "linux")]
async fn pump(
    src: &TcpStream,
    dst: &TcpStream,
    idle: Duration,
    activity: &Activity,
    counters: &[&AtomicU64],
) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    use tokio::io::Interest;
    let pipe = Pipe::new()?;
    loop {
        let n = loop {
            wait(|| src.readable(), idle, activity).await?;
            match src.try_io(Interest::READABLE, || {
                splice(src.as_raw_fd(), pipe.write, pipe.size)
            }) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        };
        if n == 0 {
            let _ = socket2::SockRef::from(dst).shutdown(std::net::Shutdown::Write);
            return Ok(());
        }
        let mut pending = n;
        while pending > 0 {
            wait(|| dst.writable(), idle, activity).await?;
            match dst.try_io(Interest::WRITABLE, || {
                splice(pipe.read, dst.as_raw_fd(), pending)
            }) {
                Ok(m) => pending -= m,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
        activity.touch();
        for c in counters {
            c.fetch_add(n as u64, Relaxed);
        }
    }
}

#[cfg(target_os = "linux")]
fn splice(from: i32, to: i32, len: usize) -> io::Result<usize> {
    // SAFETY: plain syscall on descriptors owned by the caller for the call's duration.
    let n = unsafe {
        libc::splice(
            from,
            std::ptr::null_mut(),
            to,
            std::ptr::null_mut(),
            len,
            libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// One direction's kernel pipe, grown to 1 MiB where the system allows.
#[cfg(target_os = "linux")]
struct Pipe {
    read: i32,
    write: i32,
    size: usize,
}

#[cfg(target_os = "linux")]
impl Pipe {
    const WANTED: i32 = 1 << 20;

    fn new() -> io::Result<Pipe> {
        let mut fds = [0i32; 2];
        // SAFETY: pipe2 fills the two-element array.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fcntl on the pipe just created; failure leaves the default size.
        let size = unsafe {
            libc::fcntl(fds[1], libc::F_SETPIPE_SZ, Self::WANTED);
            libc::fcntl(fds[1], libc::F_GETPIPE_SZ)
        };
        Ok(Pipe {
            read: fds[0],
            write: fds[1],
            size: if size > 0 { size as usize } else { 65536 },
        })
    }
}

#[cfg(target_os = "linux")]
impl Drop for Pipe {
    fn drop(&mut self) {
        // SAFETY: closing the descriptors this value owns, once.
        unsafe {
            libc::close(self.read);
            libc::close(self.write);
        }
    }
}

#[cfg(not(target_os = "linux"))]
async fn pump(
    src: &TcpStream,
    dst: &TcpStream,
    idle: Duration,
    activity: &Activity,
    counters: &[&AtomicU64],
) -> io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        wait(|| src.readable(), idle, activity).await?;
        let n = match src.try_read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            let _ = socket2::SockRef::from(dst).shutdown(std::net::Shutdown::Write);
            return Ok(());
        }
        let mut done = 0;
        while done < n {
            wait(|| dst.writable(), idle, activity).await?;
            match dst.try_write(&buf[done..n]) {
                Ok(m) => done += m,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
        activity.touch();
        for c in counters {
            c.fetch_add(n as u64, Relaxed);
        }
    }
}
