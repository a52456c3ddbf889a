//! The amphorae of a load balancer as Octavia's topologies make them: one STANDALONE for
//! SINGLE; a MASTER and a BACKUP for ACTIVE_STANDBY, each with a VRRP port of its own on the
//! VIP's subnet (`octavia-lb-vrrp-<amphora id>`), the VIP (`ha_ip`) moving between them by
//! keepalived. What the records say, and the VRRP group their configuration carries.

use model::{
    Amphora, AmphoraDetails, AmphoraRole, AmphoraStatus, IpAddress, Topology, Tree, VrrpConfig,
    VrrpMember,
};
use store::Store;

/// How often the MASTER advertises: VRRPv3 centiseconds, so a BACKUP takes over after about
/// three of them (Octavia's default is 1 s, ≈3.65 s to take over).
pub const ADVERT_INT_MS: u64 = 100;

/// The roles a new load balancer's amphorae are built with.
pub fn roles(topology: Topology) -> Vec<AmphoraRole> {
    match topology {
        Topology::Single => vec![AmphoraRole::Standalone],
        Topology::ActiveStandby => vec![AmphoraRole::Master, AmphoraRole::Backup],
    }
}

/// Whether the record is one of a pair.
pub fn paired(amp: &Amphora) -> bool {
    matches!(
        amp.details.role,
        Some(AmphoraRole::Master | AmphoraRole::Backup)
    )
}

/// The record of a new amphora with `role`, BOOTING. A STANDALONE one binds the VIP itself
/// (its own port is the VIP's port); one of a pair has `vrrp_port` (id, address).
pub fn new_record(
    tree: &Tree,
    id: String,
    role: AmphoraRole,
    vrrp_port: Option<(String, IpAddress)>,
) -> Amphora {
    let lb = tree.lb();
    let vip = tree.load_balancer();
    let expiry = (chrono::Utc::now() + chrono::Duration::days(30))
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string();
    let (vrrp_port_id, vrrp_ip) =
        vrrp_port.unwrap_or_else(|| (vip.vip_port_id.clone(), vip.vip_address.clone()));
    let interface = (role != AmphoraRole::Standalone).then(|| host_net::port::inner(&vrrp_port_id));
    Amphora {
        id,
        lb_id: lb.id.clone(),
        project_id: lb.project_id.clone(),
        status: AmphoraStatus::Booting,
        created_at: model::now(),
        updated_at: Some(model::now()),
        details: AmphoraDetails {
            vrrp_ip: Some(vrrp_ip),
            ha_ip: Some(vip.vip_address.clone()),
            vrrp_port_id: Some(vrrp_port_id),
            ha_port_id: Some(vip.vip_port_id.clone()),
            cert_expiration: Some(expiry),
            role: Some(role),
            vrrp_interface: interface,
            vrrp_id: Some(1),
            vrrp_priority: role.vrrp_priority().map(i64::from),
            ..AmphoraDetails::default()
        },
    }
}

/// Records `role` with Octavia's priority for it.
pub fn set_role(amp: &mut Amphora, role: AmphoraRole) {
    amp.details.role = Some(role);
    amp.details.vrrp_priority = role.vrrp_priority().map(i64::from);
    amp.updated_at = Some(model::now());
}

/// A VRRP port for a new amphora of the pair, on the VIP's subnet. Under the noop network
/// driver the VIP's subnet is not Ostia's: as Octavia's noop network driver, the port is a
/// name only, on the VIP's address.
pub async fn allocate_port(
    store: &Store,
    tree: &Tree,
    amphora_id: &str,
) -> Result<(String, IpAddress), String> {
    let vip = tree.load_balancer();
    let project = tree.lb().project_id.clone().unwrap_or_default();
    let run = async {
        let mut tx = store.begin().await?;
        let Some(subnet) = tx.subnet(&vip.vip_subnet_id).await? else {
            return Ok(Ok(None));
        };
        let name = format!("octavia-lb-vrrp-{amphora_id}");
        let port = match tx
            .allocate_port(&subnet, None, &name, "Octavia", &project)
            .await?
        {
            Ok(port) => port,
            Err(e) => {
                return Ok(Err(format!(
                    "no address for a VRRP port on subnet {}: {e:?}",
                    subnet.id
                )))
            }
        };
        tx.set_port_device(&port.id, amphora_id, "Octavia").await?;
        tx.commit().await?;
        Ok(Ok(Some(port)))
    };
    let Some(port) = run.await.map_err(|e: store::StoreError| e.to_string())?? else {
        return Ok((uuid::Uuid::new_v4().to_string(), vip.vip_address.clone()));
    };
    let ip = port
        .ip_address
        .parse()
        .map_err(|_| format!("port {} has no address", port.id))?;
    Ok((port.id, ip))
}

/// The VRRP group of the pair's records; None for a STANDALONE amphora. Priorities follow
/// the roles as recorded (which the health manager keeps true).
pub fn group(tree: &Tree, records: &[Amphora]) -> Option<VrrpConfig> {
    let members: Vec<VrrpMember> = records
        .iter()
        .filter(|a| paired(a))
        .filter_map(|a| {
            Some(VrrpMember {
                amphora_id: a.id.clone(),
                address: a.details.vrrp_ip.as_ref()?.ip(),
                priority: a.details.role?.vrrp_priority()?,
                interface: a.details.vrrp_interface.clone().unwrap_or_default(),
                mac: store::Port::mac_of(a.details.vrrp_port_id.as_deref()?),
            })
        })
        .collect();
    (!members.is_empty()).then(|| VrrpConfig {
        group: tree.lb().id.replace('-', ""),
        advert_int_ms: ADVERT_INT_MS,
        members,
    })
}

/// VRRP ports of retired records that no record in service uses any more: freed with them.
pub fn freed_ports<'a>(retired: &'a [Amphora], in_service: &[Amphora]) -> Vec<&'a str> {
    retired
        .iter()
        .filter(|a| paired(a))
        .filter_map(|a| a.details.vrrp_port_id.as_deref())
        .filter(|port| {
            !in_service
                .iter()
                .any(|b| b.details.vrrp_port_id.as_deref() == Some(port))
        })
        .collect()
}
