//! Many workers and health managers on one database share the work without doing any of it
//! twice: each job is claimed by one worker at a time, settled once, and each silent amphora
//! is taken for failover by one health manager.

mod database;

use model::{JobAction, JobState, Kind, Provider};
use std::collections::HashMap;
use store::Store;

const JOBS: usize = 120;
/// Independent handles (each its own pool, as separate processes have).
const WORKERS: usize = 4;
/// Claim loops per handle.
const LOOPS: usize = 3;

#[tokio::test]
async fn concurrent_claimers_take_each_job_once() {
    let db = database::fresh().await;
    let first = Store::connect(&db.url).await.unwrap();
    let mut tx = first.begin().await.unwrap();
    for i in 0..JOBS {
        let lb = format!("lb-{i}");
        tx.enqueue(
            &lb,
            JobAction::Create,
            Kind::LoadBalancer,
            &lb,
            Provider::Amphora,
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();

    let mut claimers = tokio::task::JoinSet::new();
    for w in 0..WORKERS {
        let store = Store::connect(&db.url).await.unwrap();
        for l in 0..LOOPS {
            let (store, owner) = (store.clone(), format!("worker-{w}-{l}"));
            claimers.spawn(async move {
                let mut taken = Vec::new();
                // A lease far longer than the test: nothing is claimed twice legitimately.
                while let Some(job) = store.claim_job(&owner, 600_000).await.unwrap() {
                    assert_eq!(job.attempts, 1, "job {} claimed before", job.id);
                    taken.push((job.id, owner.clone()));
                }
                taken
            });
        }
    }
    let mut owners: HashMap<i64, Vec<String>> = HashMap::new();
    while let Some(taken) = claimers.join_next().await {
        for (id, owner) in taken.unwrap() {
            owners.entry(id).or_default().push(owner);
        }
    }
    assert_eq!(owners.len(), JOBS, "every job was claimed");
    let twice: Vec<_> = owners.iter().filter(|(_, o)| o.len() > 1).collect();
    assert!(twice.is_empty(), "jobs claimed by two workers: {twice:?}");
    let busy: std::collections::HashSet<&String> = owners.values().flatten().collect();
    assert!(busy.len() > 1, "the work was shared: {busy:?}");

    // Only the lease holder settles a job.
    let (id, owner) = owners
        .iter()
        .next()
        .map(|(i, o)| (*i, o[0].clone()))
        .unwrap();
    let mut tx = first.begin().await.unwrap();
    assert!(!tx
        .finish_job(id, "someone-else", JobState::Done, None)
        .await
        .unwrap());
    assert!(tx
        .finish_job(id, &owner, JobState::Done, None)
        .await
        .unwrap());
    tx.commit().await.unwrap();
    let mut tx = first.begin().await.unwrap();
    assert!(
        !tx.finish_job(id, &owner, JobState::Failed, Some("again"))
            .await
            .unwrap(),
        "a settled job is not settled again"
    );
    tx.rollback().await.unwrap();
    assert_eq!(first.open_jobs().await.unwrap(), JOBS as i64 - 1);
}

#[tokio::test]
async fn a_job_whose_lease_ran_out_is_claimed_again_and_only_the_new_holder_settles() {
    let db = database::fresh().await;
    let store = Store::connect(&db.url).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.enqueue(
        "lb",
        JobAction::Update,
        Kind::Listener,
        "l",
        Provider::Amphora,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let stalled = store.claim_job("stalled", 1).await.unwrap().unwrap();
    // Wait out the 1 ms lease on the database's clock, not a sleep of guessed length.
    let mut again = None;
    for _ in 0..1000 {
        again = store.claim_job("fresh", 600_000).await.unwrap();
        if again.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    let again = again.expect("the expired lease is claimed again");
    assert_eq!((again.id, again.attempts), (stalled.id, 2));
    assert!(!store
        .renew_job(stalled.id, "stalled", 600_000)
        .await
        .unwrap());
    let mut tx = store.begin().await.unwrap();
    assert!(!tx
        .finish_job(stalled.id, "stalled", JobState::Done, None)
        .await
        .unwrap());
    assert!(tx
        .finish_job(again.id, "fresh", JobState::Failed, Some("no"))
        .await
        .unwrap());
    tx.commit().await.unwrap();
    assert_eq!(store.open_jobs().await.unwrap(), 0);
}

#[tokio::test]
async fn one_health_manager_takes_a_silent_amphora() {
    let db = database::fresh().await;
    let store = Store::connect(&db.url).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.watch_amphora("silent", 1_000).await.unwrap();
    tx.watch_amphora("reporting", 1_000).await.unwrap();
    tx.commit().await.unwrap();
    // "reporting" beats after the check read it as silent.
    store
        .record_reports(&[("reporting".into(), 5_000)], &[])
        .await
        .unwrap();

    let mut managers = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let store = Store::connect(&db.url).await.unwrap();
        managers.spawn(async move {
            let mut tx = store.begin().await.unwrap();
            let silent = tx
                .claim_amphora_health("silent", Some(2_000))
                .await
                .unwrap();
            let reporting = tx
                .claim_amphora_health("reporting", Some(2_000))
                .await
                .unwrap();
            tx.commit().await.unwrap();
            (silent, reporting)
        });
    }
    let mut taken = 0;
    while let Some(result) = managers.join_next().await {
        let (silent, reporting) = result.unwrap();
        taken += silent as usize;
        assert!(!reporting, "an amphora that reported is not failed over");
    }
    assert_eq!(
        taken, 1,
        "exactly one health manager takes the silent amphora"
    );
    assert_eq!(
        store.stale_amphorae(2_000).await.unwrap(),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn a_job_queued_by_another_process_wakes_a_listening_worker_on_postgresql() {
    let db = database::fresh().await;
    let worker = Store::connect(&db.url).await.unwrap();
    let api = Store::connect(&db.url).await.unwrap();
    let wake = std::sync::Arc::new(tokio::sync::Notify::new());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let Some(task) = worker.forward_new_jobs(wake.clone(), stopped) else {
        assert_eq!(worker.dialect, store::Dialect::Sqlite, "only SQLite polls");
        return;
    };
    let within = |what: &'static str| {
        let wake = wake.clone();
        async move {
            tokio::time::timeout(std::time::Duration::from_secs(5), wake.notified())
                .await
                .expect(what)
        }
    };
    within("the listener wakes once when it starts listening").await;
    let mut tx = api.begin().await.unwrap();
    tx.enqueue(
        "lb",
        JobAction::Create,
        Kind::LoadBalancer,
        "lb",
        Provider::Amphora,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    within("a commit with a new job wakes the worker").await;
    assert!(worker.claim_job("w", 60_000).await.unwrap().is_some());
    stop.send(true).unwrap();
    task.await.unwrap();
}
