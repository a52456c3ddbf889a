//! `/v2/lbaas/providers`: the enabled providers and what their flavor and availability-zone
//! profiles may name.

use super::*;
use model::Provider;

/// The provider named `name`, or Octavia's 400 for one that is not enabled.
pub fn enabled(name: &str) -> ApiResult<Provider> {
    name.parse()
        .map_err(|_| ApiError::bad_request(format!("Provider '{name}' is not enabled.")))
}

/// What a profile key holds: the JSON-schema type Octavia's amphora driver checks it against
/// (`flavor_schema.py`, `availability_zone_schema.py`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holds {
    Text,
    Flag,
    List,
    /// A string, one of these (in the schema's order, which its error message shows).
    OneOf(&'static [&'static str]),
}

/// A key a provider's flavor or availability-zone profiles may name.
pub struct Capability {
    pub name: &'static str,
    pub description: &'static str,
    pub holds: Holds,
}

const fn cap(name: &'static str, description: &'static str, holds: Holds) -> Capability {
    Capability {
        name,
        description,
        holds,
    }
}

/// The flavor capabilities a provider's profiles may name.
pub fn flavor_capabilities(provider: Provider) -> Vec<Capability> {
    if provider == Provider::NoopDriver {
        return vec![cap(
            "some_topology",
            "OCTAVIA_NOOP_DRIVER topology",
            Holds::Text,
        )];
    }
    vec![
        cap("loadbalancer_topology", "The load balancer topology. One of: SINGLE - One amphora per load balancer. ACTIVE_STANDBY - Two amphora per load balancer.", Holds::OneOf(&["ACTIVE_STANDBY", "SINGLE"])),
        cap("engine", "The data plane serving the load balancer (Ostia). One of: native - Ostia's own engine. haproxy - Debian's haproxy, configured as Octavia's amphora configures it.", Holds::OneOf(model::EngineKind::NAMES)),
        cap("compute_flavor", "The compute driver flavor ID.", Holds::Text),
        cap("amp_image_tag", "The amphora image tag.", Holds::Text),
        cap("sriov_vip", "When true, the VIP port will be created using an SR-IOV VF port.", Holds::Flag),
        cap("allow_member_sriov", "When true, users can request a member port be SR-IOV enabled at member creation time.", Holds::Flag),
    ]
}

/// The availability-zone capabilities a provider's profiles may name.
pub fn az_capabilities(provider: Provider) -> Vec<Capability> {
    if provider == Provider::NoopDriver {
        return vec![cap(
            "compute_zone",
            "compute availability zone to use for this loadbalancer.",
            Holds::Text,
        )];
    }
    vec![
        cap("compute_zone", "The compute availability zone.", Holds::Text),
        cap("volume_zone", "The volume availability zone.", Holds::Text),
        cap("management_network", "The management network ID for the amphora.", Holds::Text),
        cap("valid_vip_networks", "List of network IDs that are allowed for VIP use. This overrides/replaces the list of allowed networks configured in `octavia.conf`.", Holds::List),
    ]
}

pub async fn route(req: &Req, rest: &[&str]) -> ApiResult<Response> {
    if req.method != Method::GET {
        return Err(ApiError::method_not_allowed());
    }
    let fields = req.query.fields();
    let list = |items: Vec<(&str, &str)>| -> Vec<Value> {
        items
            .into_iter()
            .map(|(n, d)| {
                let obj: Map<String, Value> = [
                    ("name".to_string(), json!(n)),
                    ("description".to_string(), json!(d)),
                ]
                .into_iter()
                .collect();
                Value::Object(listing::select_fields(obj, &fields))
            })
            .collect()
    };
    let filter = |items: Vec<Capability>| -> Vec<(&'static str, &'static str)> {
        items
            .into_iter()
            .map(|c| (c.name, c.description))
            .filter(|(n, d)| {
                req.query.get("name").is_none_or(|w| w == *n)
                    && req.query.get("description").is_none_or(|w| w == *d)
            })
            .collect()
    };
    match rest {
        [] => {
            super::admin::authorize_own(req, Rule::Read)?;
            let all = Provider::ALL
                .iter()
                .map(|p| (p.as_str(), p.description()))
                .collect();
            Ok(axum::Json(json!({"providers": list(all)})).into_response())
        }
        [provider, what @ ("flavor_capabilities" | "availability_zone_capabilities")] => {
            super::admin::authorize_own(req, Rule::Admin)?;
            let provider = enabled(provider)?;
            let items = if *what == "flavor_capabilities" {
                flavor_capabilities(provider)
            } else {
                az_capabilities(provider)
            };
            Ok(axum::Json(json!({ *what: list(filter(items)) })).into_response())
        }
        _ => Err(ApiError::no_route()),
    }
}
