//! The resource kinds of the Octavia v2 API and their wire names.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
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
    AvailabilityZoneProfile,
    Amphora,
}

impl Kind {
    pub const ALL: [Kind; 12] = [
        Kind::LoadBalancer,
        Kind::Listener,
        Kind::Pool,
        Kind::Member,
        Kind::HealthMonitor,
        Kind::L7Policy,
        Kind::L7Rule,
        Kind::Flavor,
        Kind::FlavorProfile,
        Kind::AvailabilityZone,
        Kind::AvailabilityZoneProfile,
        Kind::Amphora,
    ];

    /// The value stored in the `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::LoadBalancer => "loadbalancer",
            Kind::Listener => "listener",
            Kind::Pool => "pool",
            Kind::Member => "member",
            Kind::HealthMonitor => "healthmonitor",
            Kind::L7Policy => "l7policy",
            Kind::L7Rule => "l7rule",
            Kind::Flavor => "flavor",
            Kind::FlavorProfile => "flavorprofile",
            Kind::AvailabilityZone => "availability_zone",
            Kind::AvailabilityZoneProfile => "availability_zone_profile",
            Kind::Amphora => "amphora",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Octavia's `_name()`: the class name split on capitals, used in error texts.
    pub fn display_name(self) -> &'static str {
        match self {
            Kind::LoadBalancer => "Load Balancer",
            Kind::Listener => "Listener",
            Kind::Pool => "Pool",
            Kind::Member => "Member",
            Kind::HealthMonitor => "Health Monitor",
            Kind::L7Policy => "L7 Policy",
            Kind::L7Rule => "L7 Rule",
            Kind::Flavor => "Flavor",
            Kind::FlavorProfile => "Flavor Profile",
            Kind::AvailabilityZone => "Availability Zone",
            Kind::AvailabilityZoneProfile => "Availability Zone Profile",
            Kind::Amphora => "Amphora",
        }
    }

    /// Envelope key of a single object.
    pub fn singular(self) -> &'static str {
        match self {
            Kind::L7Rule => "rule",
            other => other.as_str(),
        }
    }

    /// Envelope key of a list.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::LoadBalancer => "loadbalancers",
            Kind::Listener => "listeners",
            Kind::Pool => "pools",
            Kind::Member => "members",
            Kind::HealthMonitor => "healthmonitors",
            Kind::L7Policy => "l7policies",
            Kind::L7Rule => "rules",
            Kind::Flavor => "flavors",
            Kind::FlavorProfile => "flavorprofiles",
            Kind::AvailabilityZone => "availability_zones",
            Kind::AvailabilityZoneProfile => "availability_zone_profiles",
            Kind::Amphora => "amphorae",
        }
    }

    /// The `*_links` key of a list; two of Octavia's are singular.
    pub fn links_key(self) -> &'static str {
        match self {
            Kind::FlavorProfile => "flavorprofile_links",
            Kind::AvailabilityZoneProfile => "availability_zone_profile_links",
            other => match other.plural() {
                "loadbalancers" => "loadbalancers_links",
                "listeners" => "listeners_links",
                "pools" => "pools_links",
                "members" => "members_links",
                "healthmonitors" => "healthmonitors_links",
                "l7policies" => "l7policies_links",
                "rules" => "rules_links",
                "flavors" => "flavors_links",
                "availability_zones" => "availability_zones_links",
                _ => "amphorae_links",
            },
        }
    }

    /// Objects that live inside a load balancer's tree and carry the two statuses.
    pub fn in_lb_tree(self) -> bool {
        matches!(
            self,
            Kind::LoadBalancer
                | Kind::Listener
                | Kind::Pool
                | Kind::Member
                | Kind::HealthMonitor
                | Kind::L7Policy
                | Kind::L7Rule
        )
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
