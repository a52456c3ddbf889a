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

crate::wire_enum!(ProvisioningStatus {
    Active = "ACTIVE",
    PendingCreate = "PENDING_CREATE",
    PendingUpdate = "PENDING_UPDATE",
    PendingDelete = "PENDING_DELETE",
    Deleted = "DELETED",
    Error = "ERROR",
});

crate::wire_enum!(OperatingStatus {
    Online = "ONLINE",
    Offline = "OFFLINE",
    Degraded = "DEGRADED",
    Error = "ERROR",
    Draining = "DRAINING",
    NoMonitor = "NO_MONITOR",
});

crate::wire_enum!(
    /// An amphora's `status` (Octavia keeps it in the provisioning column).
    AmphoraStatus {
        PendingCreate = "PENDING_CREATE",
        Booting = "BOOTING",
        Allocated = "ALLOCATED",
        Ready = "READY",
        Error = "ERROR",
        PendingDelete = "PENDING_DELETE",
        Deleted = "DELETED",
        FailoverStopped = "FAILOVER_STOPPED",
    }
);

crate::wire_enum!(AmphoraRole {
    Master = "MASTER",
    Backup = "BACKUP",
    Standalone = "STANDALONE",
});

impl AmphoraStatus {
    /// Amphorae that exist (or are being built) and belong to their load balancer.
    pub fn is_live(self) -> bool {
        !matches!(
            self,
            AmphoraStatus::Deleted | AmphoraStatus::PendingDelete | AmphoraStatus::Error
        )
    }
}
