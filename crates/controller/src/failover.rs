//! Asking for an amphora to be replaced, when the health manager finds it silent or its
//! process exits: the load balancer goes PENDING_UPDATE and a failover job is queued, in one
//! transaction, exactly as the API's `PUT /amphorae/{id}/failover` does.

use model::{AmphoraStatus, JobAction, Kind, ProvisioningStatus};
use store::Store;
use tokio::sync::Notify;

/// Queues the failover of an amphora. False when there is nothing to do now: the amphora is
/// not in service, a failover of it is already under way (another health manager's, too),
/// it reported at or after `silent_before` (milliseconds; the health manager's pick), or its
/// load balancer is busy with another job (the next check tries again).
pub async fn request(
    store: &Store,
    jobs: &Notify,
    amphora_id: &str,
    silent_before: Option<i64>,
    reason: &str,
) -> store::Result<bool> {
    let mut tx = store.begin().await?;
    let Some(amp) = tx.amphora(amphora_id).await? else {
        tx.unwatch_amphora(amphora_id).await?;
        tx.commit().await?;
        return Ok(false);
    };
    if !amp.status.is_serving() {
        // A deleted amphora whose process still reported (an orphan) is watched no more.
        if amp.status == AmphoraStatus::Deleted {
            tx.unwatch_amphora(amphora_id).await?;
            tx.commit().await?;
        }
        return Ok(false);
    }
    let lb_id = amp.lb_id.clone();
    let Some(mut tree) = tx.tree(&lb_id).await? else {
        return Ok(false);
    };
    if !tree.lb().provisioning_status.is_settled() {
        return Ok(false);
    }
    if !tx.claim_amphora_health(amphora_id, silent_before).await? {
        return Ok(false);
    }
    tree.lb_mut().set_status(ProvisioningStatus::PendingUpdate);
    tree.debug_check("asking for a failover");
    tx.save_tree(&tree).await?;
    let provider = tree.load_balancer().provider;
    tx.enqueue(
        &lb_id,
        JobAction::Failover,
        Kind::Amphora,
        amphora_id,
        provider,
    )
    .await?;
    tx.commit().await?;
    tracing::warn!(amphora = %amphora_id, lb = %lb_id, %reason, "failing over amphora");
    jobs.notify_one();
    Ok(true)
}

/// Sets an amphora's status unless it is being or has been deleted.
pub async fn set_status(
    store: &Store,
    amphora_id: &str,
    status: AmphoraStatus,
) -> store::Result<()> {
    let mut tx = store.begin().await?;
    if let Some(mut amp) = tx.amphora(amphora_id).await? {
        if !amp.status.is_gone() && amp.status != status {
            amp.set_status(status);
            tx.put_amphora(&amp).await?;
        }
    }
    tx.commit().await
}

/// FAILOVER_STOPPED amphorae that report again are ALLOCATED again.
pub async fn resume_stopped(store: &Store, fresh_since: i64) -> store::Result<()> {
    let fresh = store.fresh_amphorae(fresh_since).await?;
    for amp in store.amphorae(None).await? {
        if amp.status == AmphoraStatus::FailoverStopped && fresh.contains(&amp.id) {
            set_status(store, &amp.id, AmphoraStatus::Allocated).await?;
        }
    }
    Ok(())
}
