//! The amphora provider: what a job means for the amphorae of its load balancer. Creates
//! boot one, every change hands each one the whole new configuration, deletes retire them,
//! failovers replace them. The records' own changes are returned, for the worker to commit
//! with the tree in one transaction; the ones the API must see at once (BOOTING,
//! PENDING_DELETE) are written as they happen.

use crate::compute::{ComputeDriver, ComputeError, Placed, Stop};
use crate::{amphora_config, pair};
use engine::ListenerFailure;
use model::{
    Amphora, AmphoraConfig, AmphoraRole, AmphoraStatus, EngineKind, JobAction, Kind,
    ProvisioningStatus, Topology, Tree,
};
use std::sync::Arc;
use store::{Job, Store};

/// What a job did to the amphorae, settled by the worker with the tree.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Why the job failed, if it did.
    pub error: Option<String>,
    /// Amphora records as they are now.
    pub records: Vec<Amphora>,
    /// Listeners that could not start (their port is taken), with the reason.
    pub failed_listeners: Vec<ListenerFailure>,
}

pub struct Amphorae {
    store: Store,
    driver: Arc<dyn ComputeDriver>,
    /// Opens the key manager's payloads (TLS listeners' certificates).
    sealer: Arc<store::Sealer>,
    /// For load balancers whose flavor does not say (`--loadbalancer-topology`).
    topology: Topology,
    /// For load balancers whose flavor does not say (`--default-engine`).
    engine: EngineKind,
}

/// Records of amphorae that belong to their load balancer (not being or been deleted).
pub fn in_service(records: Vec<Amphora>) -> Vec<Amphora> {
    records
        .into_iter()
        .filter(|a| !a.status.is_gone())
        .collect()
}

impl Amphorae {
    pub fn new(
        store: Store,
        driver: Arc<dyn ComputeDriver>,
        sealer: Arc<store::Sealer>,
    ) -> Amphorae {
        Amphorae {
            store,
            driver,
            sealer,
            topology: Topology::Single,
            engine: EngineKind::Native,
        }
    }

    /// The topology of load balancers whose flavor does not name one.
    pub fn with_topology(mut self, topology: Topology) -> Amphorae {
        self.topology = topology;
        self
    }

    /// The engine of load balancers whose flavor does not name one.
    pub fn with_engine(mut self, engine: EngineKind) -> Amphorae {
        self.engine = engine;
        self
    }

    fn topology(&self, tree: &Tree) -> Topology {
        tree.load_balancer().topology.unwrap_or(self.topology)
    }

    /// The configuration of `tree` at `generation` for the amphorae `records`: its floating
    /// addresses served too, its TLS listeners' certificates loaded, the pair's VRRP group.
    async fn config(
        &self,
        tree: &Tree,
        generation: u64,
        records: &[Amphora],
    ) -> Result<AmphoraConfig, String> {
        let floating = self.floating_addresses(tree).await?;
        let mut config = config_with(tree, generation, &floating);
        config.vrrp = pair::group(tree, records);
        config.engine = tree.load_balancer().engine.unwrap_or(self.engine);
        // Noop amphorae serve nothing, so (as Octavia's noop drivers) they take any ref.
        if self.driver.heartbeats() {
            crate::certificates::load(&self.store, &self.sealer, &mut config).await?;
        }
        Ok(config)
    }

    pub fn driver(&self) -> &Arc<dyn ComputeDriver> {
        &self.driver
    }

    /// Floating IPs associated with the VIP port: the amphora answers on them too.
    async fn floating_addresses(&self, tree: &Tree) -> Result<Vec<std::net::IpAddr>, String> {
        let port = &tree.load_balancer().vip_port_id;
        let found = self
            .store
            .floating_addresses(port)
            .await
            .map_err(|e| e.to_string())?;
        Ok(found.iter().filter_map(|a| a.parse().ok()).collect())
    }

    pub async fn run(&self, job: &Job, tree: &Tree) -> Outcome {
        let mut out = Outcome::default();
        if let Err(reason) = self.carry_out(job, tree, &mut out).await {
            // An amphora that could not be failed over is ERROR (and no longer watched).
            let failed_over = job.object_kind == Kind::Amphora && job.action == JobAction::Failover;
            if failed_over && !out.records.iter().any(|r| r.id == job.object_id) {
                if let Ok(Some(mut amp)) = self.store.amphora(&job.object_id).await {
                    amp.set_status(AmphoraStatus::Error);
                    out.records.push(amp);
                }
            }
            out.error = Some(reason);
        }
        out
    }

    async fn carry_out(&self, job: &Job, tree: &Tree, out: &mut Outcome) -> Result<(), String> {
        let all = self.records(&job.lb_id).await?;
        // Amphorae a run killed mid-way was stopping: their stop is finished first.
        for amp in all
            .iter()
            .filter(|a| a.status == AmphoraStatus::PendingDelete)
        {
            self.retire(amp.clone(), Stop::Kill, out).await?;
        }
        let records = in_service(all);
        let generation = job.id as u64;
        match (job.object_kind, job.action) {
            (Kind::Amphora, JobAction::Configure) => {
                let amp = find(&records, &job.object_id)?;
                self.driver
                    .configure(&Placed::of(amp))
                    .await
                    .map_err(|e| e.to_string())
            }
            (Kind::LoadBalancer, JobAction::Delete) => {
                for amp in records {
                    self.retire(amp, Stop::Graceful, out).await?;
                }
                Ok(())
            }
            // A create run again after a crash finds what the first run booted.
            (Kind::LoadBalancer, JobAction::Create | JobAction::Failover) => {
                // Checked first: a refused topology must not cost the running amphorae.
                let roles = pair::roles(self.topology(tree));
                self.check_topology(&roles)?;
                for amp in records {
                    self.retire(amp, Stop::Kill, out).await?;
                }
                self.boot(tree, generation, roles, &[], out).await
            }
            // Run again after a crash, the old amphora may be retired already, and what the
            // first run booted is retired too. One of a pair is rebuilt as the BACKUP, on a
            // VRRP port of its own (as Octavia): a MAC that moved to another host would be
            // sent to the old one until the network learns it again, and the new BACKUP,
            // hearing no MASTER, would claim the VIP.
            (Kind::Amphora, JobAction::Failover) => {
                let replaced =
                    |a: &Amphora| a.id == job.object_id || a.status == AmphoraStatus::Booting;
                let (gone, kept): (Vec<Amphora>, Vec<Amphora>) =
                    records.into_iter().partition(replaced);
                let failed = gone.iter().find(|a| a.id == job.object_id).cloned();
                let failed = match failed {
                    Some(a) => Some(a),
                    None => self
                        .store
                        .amphora(&job.object_id)
                        .await
                        .map_err(|e| e.to_string())?,
                };
                let role = match failed.filter(pair::paired) {
                    Some(_) if kept.iter().any(pair::paired) => AmphoraRole::Backup,
                    Some(_) => AmphoraRole::Master,
                    None => pair::roles(self.topology(tree))[0],
                };
                for amp in gone {
                    self.retire(amp, Stop::Kill, out).await?;
                }
                // Its peer is dead: the survivor holds the VIP (or will within a
                // master-down interval), and gets the MASTER's priority before the new
                // BACKUP starts, so that the two never tie.
                let kept: Vec<Amphora> = kept
                    .into_iter()
                    .map(|mut a| {
                        if role == AmphoraRole::Backup && pair::paired(&a) {
                            pair::set_role(&mut a, AmphoraRole::Master);
                        }
                        a
                    })
                    .collect();
                self.boot(tree, generation, vec![role], &kept, out).await
            }
            _ => {
                let config = self.config(tree, generation, &records).await?;
                if records.is_empty() {
                    return Err(format!(
                        "load balancer {} has no amphora in service; fail it over to build one",
                        job.lb_id
                    ));
                }
                for mut amp in records {
                    let applied = self
                        .driver
                        .apply(&Placed::of(&amp), &config)
                        .await
                        .map_err(|e| describe(&amp.id, e))?;
                    amp.details.generation = applied.generation;
                    out.failed_listeners.extend(applied.failed_listeners);
                    out.records.push(amp);
                }
                Ok(())
            }
        }
    }

    /// Amphora records of a load balancer.
    pub async fn records(&self, lb_id: &str) -> Result<Vec<Amphora>, String> {
        self.store
            .amphorae(Some(lb_id))
            .await
            .map_err(|e| e.to_string())
    }

    async fn save(&self, record: &Amphora) -> Result<(), String> {
        let run = async {
            let mut tx = self.store.begin().await?;
            tx.put_amphora(record).await?;
            tx.commit().await
        };
        run.await.map_err(|e| e.to_string())
    }

    /// Stops an amphora for good: PENDING_DELETE while it stops, then DELETED.
    async fn retire(&self, mut amp: Amphora, how: Stop, out: &mut Outcome) -> Result<(), String> {
        amp.set_status(AmphoraStatus::PendingDelete);
        self.save(&amp).await?;
        self.driver.delete(&Placed::of(&amp), how).await;
        amp.set_status(AmphoraStatus::Deleted);
        out.records.push(amp);
        Ok(())
    }

    /// A pair needs a driver whose amphorae can run keepalived.
    fn check_topology(&self, roles: &[AmphoraRole]) -> Result<(), String> {
        if roles.len() > 1 && !self.driver.pairs() {
            return Err(
                "ACTIVE_STANDBY needs amphorae that run VRRP, each in a network \
                        namespace of its own (--amphora netns, or noop): this amphora driver \
                        runs them in one address space"
                    .into(),
            );
        }
        Ok(())
    }

    /// Builds a new amphora for each role (one of a pair with a VRRP port of its own),
    /// places them one after the other (so a host can keep a pair's two apart),
    /// and hands each the configuration of the load balancer's amphorae: `kept` and these.
    async fn boot(
        &self,
        tree: &Tree,
        generation: u64,
        roles: Vec<AmphoraRole>,
        kept: &[Amphora],
        out: &mut Outcome,
    ) -> Result<(), String> {
        let mut built = Vec::new();
        for role in roles {
            let id = uuid::Uuid::new_v4().to_string();
            let port = match role {
                AmphoraRole::Standalone => None,
                _ => Some(pair::allocate_port(&self.store, tree, &id).await?),
            };
            let mut amp = pair::new_record(tree, id, role, port);
            self.save(&amp).await?;
            match self.driver.create(&amp.id, &amp.lb_id).await {
                Ok(placement) => placement.write_to(&mut amp),
                Err(e) => {
                    amp.set_status(AmphoraStatus::Error);
                    out.records.extend(built);
                    out.records.push(amp.clone());
                    return Err(describe(&amp.id, e));
                }
            }
            // Saved placed (still BOOTING: it serves nothing yet): the next of the pair is
            // placed knowing where this one is.
            self.save(&amp).await?;
            built.push(amp);
        }
        let all: Vec<Amphora> = kept.iter().chain(&built).cloned().collect();
        let config = match self.config(tree, generation, &all).await {
            Ok(config) => config,
            Err(e) => {
                out.records.extend(built);
                return Err(e);
            }
        };
        // The serving one first: it learns its new peer (and gets the MASTER's priority)
        // before the new one starts listening for it. One that cannot be reached is left
        // to its own failover.
        for amp in kept.iter().filter(|a| pair::paired(a)) {
            match self.driver.apply(&Placed::of(amp), &config).await {
                Ok(applied) => {
                    let mut amp = amp.clone();
                    amp.details.generation = applied.generation;
                    out.records.push(amp);
                }
                Err(e) => tracing::warn!(amphora = %amp.id, error = %e,
                    "the other amphora of the pair did not take the new configuration"),
            }
        }
        let mut result = Ok(());
        for mut amp in built {
            amp.set_status(AmphoraStatus::Allocated);
            if result.is_ok() {
                match self.driver.apply(&Placed::of(&amp), &config).await {
                    Ok(applied) => {
                        amp.details.generation = applied.generation;
                        out.failed_listeners.extend(applied.failed_listeners);
                    }
                    Err(e) => result = Err(describe(&amp.id, e)),
                }
            }
            out.records.push(amp);
        }
        result
    }

    /// At start: takes back every amphora in service of every live load balancer, before
    /// any of them is expected to report. What cannot be taken back is returned, to be
    /// failed over.
    pub async fn restore(&self) -> Result<Vec<String>, String> {
        let mut lost = Vec::new();
        let all = self.store.amphorae(None).await.map_err(|e| e.to_string())?;
        for amp in all.into_iter().filter(|a| a.status.is_serving()) {
            let lb_id = amp.lb_id.clone();
            let Some(tree) = self.store.tree(&lb_id).await.map_err(|e| e.to_string())? else {
                continue;
            };
            if tree.lb().provisioning_status == ProvisioningStatus::Deleted {
                continue;
            }
            let generation = amp.details.generation;
            let records = in_service(self.records(&lb_id).await?);
            let result = match self.config(&tree, generation, &records).await {
                Ok(config) => self
                    .driver
                    .attach(&Placed::of(&amp), &config)
                    .await
                    .map_err(|e| describe(&amp.id, e)),
                Err(e) => Err(e),
            };
            match result {
                Ok(()) => {
                    tracing::info!(amphora = %amp.id, lb = %lb_id, generation, "amphora restored")
                }
                Err(reason) => {
                    tracing::warn!(amphora = %amp.id, lb = %lb_id, %reason, "amphora not restored");
                    lost.push(amp.id.clone());
                }
            }
        }
        Ok(lost)
    }
}

fn find<'a>(records: &'a [Amphora], id: &str) -> Result<&'a Amphora, String> {
    records
        .iter()
        .find(|r| r.id == id)
        .ok_or_else(|| format!("amphora {id} is not in service"))
}

fn describe(amphora_id: &str, e: ComputeError) -> String {
    match e {
        ComputeError::Refused(reason) => format!("amphora {amphora_id} refused: {reason}"),
        other => other.to_string(),
    }
}

/// The tree's configuration, served on the floating addresses of its VIP port as well.
fn config_with(tree: &Tree, generation: u64, floating: &[std::net::IpAddr]) -> AmphoraConfig {
    let mut config = amphora_config::build(tree, generation);
    for address in floating {
        if !config.vips.contains(address) {
            config.vips.push(*address);
        }
    }
    config
}
