//! One stored object of a load-balancer tree or of Octavia's catalog (flavors, availability
//! zones and their profiles): the columns every object has, and its typed attributes. The
//! store keeps the attributes as one JSON column, written and read through serde with the
//! wire names; each kind also has its create body (`…Create`) and its typed patch
//! (`…Patch`), what a POST and a PUT carry after the decoder checked them.

mod catalog;
mod healthmonitor;
mod l7policy;
mod l7rule;
mod listener;
mod loadbalancer;
mod member;
mod pool;
mod tls;

pub use catalog::{
    AvailabilityZone, AvailabilityZoneCreate, AvailabilityZonePatch, AvailabilityZoneProfile,
    Flavor, FlavorCreate, FlavorPatch, FlavorProfile, ProfileCreate, ProfilePatch,
};
pub use healthmonitor::{HealthMonitor, HealthMonitorCreate, HealthMonitorPatch};
pub use l7policy::{L7Policy, L7PolicyCreate, L7PolicyPatch, Redirect};
pub use l7rule::{L7Rule, L7RuleCreate, L7RulePatch};
pub use listener::{
    Listener, ListenerCreate, ListenerPatch, TIMEOUT_CLIENT_DATA, TIMEOUT_MEMBER_CONNECT,
    TIMEOUT_MEMBER_DATA, TIMEOUT_TCP_INSPECT,
};
pub use loadbalancer::{
    AdditionalVip, AdditionalVipRequest, LoadBalancer, LoadBalancerCreate, LoadBalancerPatch,
};
pub use member::{Member, MemberCreate, MemberPatch};
pub use pool::{Persistence, PersistencePatch, Pool, PoolCreate, PoolPatch};
pub use tls::{TlsDefaults, DEFAULT_CIPHERS};

use crate::status::{OperatingStatus, ProvisioningStatus};
use crate::Kind;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Naive UTC timestamp the way Octavia renders it (`isoformat()` without zone).
pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string()
}

#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    pub id: String,
    /// The load balancer this object belongs to (itself for a load balancer).
    pub lb_id: Option<String>,
    /// Listener for an L7 policy, policy for a rule, pool for a member or monitor,
    /// load balancer for a listener or pool.
    pub parent_id: Option<String>,
    pub project_id: Option<String>,
    pub provisioning_status: ProvisioningStatus,
    pub operating_status: OperatingStatus,
    pub created_at: String,
    pub updated_at: Option<String>,
    pub body: Body,
}

/// The typed attributes of each kind.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    LoadBalancer(LoadBalancer),
    Listener(Listener),
    Pool(Pool),
    Member(Member),
    HealthMonitor(HealthMonitor),
    L7Policy(L7Policy),
    L7Rule(L7Rule),
    Flavor(Flavor),
    FlavorProfile(FlavorProfile),
    AvailabilityZone(AvailabilityZone),
    AvailabilityZoneProfile(AvailabilityZoneProfile),
}

/// A kind's attributes, reached from a `Resource` by type: `r.get::<Listener>()`.
pub trait Object: Sized + Into<Body> {
    const KIND: Kind;
    fn of(body: &Body) -> Option<&Self>;
    fn of_mut(body: &mut Body) -> Option<&mut Self>;
}

macro_rules! objects {
    ($($variant:ident),+) => {
        $(impl From<$variant> for Body {
            fn from(x: $variant) -> Body {
                Body::$variant(x)
            }
        }

        impl Object for $variant {
            const KIND: Kind = Kind::$variant;
            fn of(body: &Body) -> Option<&Self> {
                match body {
                    Body::$variant(x) => Some(x),
                    _ => None,
                }
            }
            fn of_mut(body: &mut Body) -> Option<&mut Self> {
                match body {
                    Body::$variant(x) => Some(x),
                    _ => None,
                }
            }
        })+

        impl Body {
            pub fn kind(&self) -> Kind {
                match self {
                    $(Body::$variant(_) => Kind::$variant),+
                }
            }

            /// The attributes as the store keeps them: a JSON object with the wire names.
            pub fn to_json(&self) -> Value {
                let v = match self {
                    $(Body::$variant(x) => serde_json::to_value(x)),+
                };
                v.expect("typed attributes serialise")
            }

            /// The attributes of a `kind` as the store keeps them.
            pub fn from_json(kind: Kind, v: Value) -> Result<Body, serde_json::Error> {
                Ok(match kind {
                    $(Kind::$variant => Body::$variant(serde_json::from_value(v)?),)+
                    Kind::Amphora => {
                        return Err(serde::de::Error::custom(
                            "an amphora is a record of its own, not a resource",
                        ))
                    }
                })
            }
        }
    };
}

objects!(
    LoadBalancer,
    Listener,
    Pool,
    Member,
    HealthMonitor,
    L7Policy,
    L7Rule,
    Flavor,
    FlavorProfile,
    AvailabilityZone,
    AvailabilityZoneProfile
);

impl Body {
    /// The name ("" when unset; rules have none).
    pub fn name(&self) -> &str {
        match self {
            Body::LoadBalancer(x) => &x.name,
            Body::Listener(x) => &x.name,
            Body::Pool(x) => &x.name,
            Body::Member(x) => &x.name,
            Body::HealthMonitor(x) => &x.name,
            Body::L7Policy(x) => &x.name,
            Body::L7Rule(_) => "",
            Body::Flavor(x) => &x.name,
            Body::FlavorProfile(x) => &x.name,
            Body::AvailabilityZone(x) => &x.name,
            Body::AvailabilityZoneProfile(x) => &x.name,
        }
    }

    /// `admin_state_up`, or a catalog entry's `enabled` (profiles are always on).
    pub fn enabled(&self) -> bool {
        match self {
            Body::LoadBalancer(x) => x.admin_state_up,
            Body::Listener(x) => x.admin_state_up,
            Body::Pool(x) => x.admin_state_up,
            Body::Member(x) => x.admin_state_up,
            Body::HealthMonitor(x) => x.admin_state_up,
            Body::L7Policy(x) => x.admin_state_up,
            Body::L7Rule(x) => x.admin_state_up,
            Body::Flavor(x) => x.enabled,
            Body::AvailabilityZone(x) => x.enabled,
            Body::FlavorProfile(_) | Body::AvailabilityZoneProfile(_) => true,
        }
    }
}

impl Resource {
    pub fn new(
        id: String,
        body: impl Into<Body>,
        provisioning_status: ProvisioningStatus,
        operating_status: OperatingStatus,
    ) -> Resource {
        Resource {
            id,
            lb_id: None,
            parent_id: None,
            project_id: None,
            provisioning_status,
            operating_status,
            created_at: now(),
            updated_at: None,
            body: body.into(),
        }
    }

    pub fn kind(&self) -> Kind {
        self.body.kind()
    }

    pub fn get<T: Object>(&self) -> Option<&T> {
        T::of(&self.body)
    }

    pub fn get_mut<T: Object>(&mut self) -> Option<&mut T> {
        T::of_mut(&mut self.body)
    }

    pub fn enabled(&self) -> bool {
        self.body.enabled()
    }

    pub fn set_status(&mut self, provisioning: ProvisioningStatus) {
        self.provisioning_status = provisioning;
    }
}

/// A stored `null` (or a missing attribute) as the type's default: names and descriptions
/// Octavia renders as "" when unset, lists as [].
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

pub(crate) fn yes() -> bool {
    true
}
