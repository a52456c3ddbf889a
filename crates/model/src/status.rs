//! Provisioning and operating status values (octavia-lib constants).

pub const ACTIVE: &str = "ACTIVE";
pub const PENDING_CREATE: &str = "PENDING_CREATE";
pub const PENDING_UPDATE: &str = "PENDING_UPDATE";
pub const PENDING_DELETE: &str = "PENDING_DELETE";
pub const DELETED: &str = "DELETED";
pub const ERROR: &str = "ERROR";

pub const ONLINE: &str = "ONLINE";
pub const OFFLINE: &str = "OFFLINE";
pub const DEGRADED: &str = "DEGRADED";
pub const DRAINING: &str = "DRAINING";
pub const NO_MONITOR: &str = "NO_MONITOR";

pub fn is_pending(status: &str) -> bool {
    status.starts_with("PENDING_")
}
