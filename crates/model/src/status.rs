//! Provisioning and operating statuses (octavia-lib's constants), amphora statuses and roles.

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

impl ProvisioningStatus {
    /// A job is under way on the object (Octavia's `PENDING_*`).
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            ProvisioningStatus::PendingCreate
                | ProvisioningStatus::PendingUpdate
                | ProvisioningStatus::PendingDelete
        )
    }

    /// A delete or failover may start: no job is under way and the object is not gone.
    pub fn is_settled(self) -> bool {
        matches!(self, ProvisioningStatus::Active | ProvisioningStatus::Error)
    }
}

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

crate::wire_enum!(
    /// What a VRRP instance is (keepalived's words), as an amphora of a pair reports it.
    VrrpState {
        Master = "MASTER",
        Backup = "BACKUP",
        Fault = "FAULT",
    }
);

impl AmphoraRole {
    /// Octavia's priorities: the amphora built as MASTER 100, the BACKUP 90.
    pub fn vrrp_priority(self) -> Option<u8> {
        match self {
            AmphoraRole::Master => Some(100),
            AmphoraRole::Backup => Some(90),
            AmphoraRole::Standalone => None,
        }
    }
}

impl AmphoraStatus {
    /// Amphorae that exist (or are being built) and belong to their load balancer.
    pub fn is_live(self) -> bool {
        !matches!(
            self,
            AmphoraStatus::Deleted | AmphoraStatus::PendingDelete | AmphoraStatus::Error
        )
    }

    /// Amphorae that serve their load balancer (and are watched for heartbeats).
    pub fn is_serving(self) -> bool {
        matches!(
            self,
            AmphoraStatus::Allocated | AmphoraStatus::FailoverStopped
        )
    }

    /// Being or been deleted.
    pub fn is_gone(self) -> bool {
        matches!(self, AmphoraStatus::Deleted | AmphoraStatus::PendingDelete)
    }
}
