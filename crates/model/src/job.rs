//! What a job asks the worker to do.

crate::wire_enum!(JobAction {
    Create = "create",
    Update = "update",
    Delete = "delete",
    /// Rebuild the amphorae of a load balancer (or one amphora) with the same VIP and config.
    Failover = "failover",
    /// Push an amphora's agent settings again (`PUT /amphorae/{id}/config`).
    Configure = "configure",
    /// Octavia's `batch_update_members` on a pool.
    BatchUpdate = "batch_update",
});

crate::wire_enum!(
    /// Where a job is in the queue.
    JobState {
        Pending = "pending",
        /// Claimed under a lease (a running job whose lease ran out is claimed again).
        Running = "running",
        Done = "done",
        Failed = "failed",
    }
);
