//! What a data plane reports about itself (HAProxy's stats vocabulary, as Octavia's heartbeat
//! carries it), and how the health manager reads each value (reference §6, §8.5).

use crate::status::OperatingStatus;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

crate::wire_enum!(ListenerHealth {
    Open = "OPEN",
    /// At `connection_limit`.
    Full = "FULL",
});

crate::wire_enum!(PoolHealth {
    /// Some member can serve.
    Up = "UP",
    Down = "DOWN",
});

/// A member's state as HAProxy's stats show it: `UP`, `DOWN`, `DRAIN`, `MAINT`, `no check`,
/// and the transitional `UP 1/3` (up, one failed check of three) and `DOWN 1/2` (down, one
/// passed check of two). LVS amphorae may also report `RESTARTING`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberHealth {
    Up,
    Down,
    Drain,
    Maint,
    NoCheck,
    /// Up, but failing checks: HAProxy's `UP health/fall` (health left before it goes down).
    GoingDown {
        health: u32,
        fall: u32,
    },
    /// Down, but passing checks: HAProxy's `DOWN health/rise` (checks passed towards rise).
    GoingUp {
        health: u32,
        rise: u32,
    },
    Restarting,
}

impl MemberHealth {
    /// The member's operating status, or None where Octavia leaves it unchanged.
    pub fn operating_status(self) -> Option<OperatingStatus> {
        Some(match self {
            MemberHealth::Up | MemberHealth::GoingDown { .. } => OperatingStatus::Online,
            MemberHealth::Down | MemberHealth::GoingUp { .. } => OperatingStatus::Error,
            MemberHealth::Drain => OperatingStatus::Draining,
            MemberHealth::Maint => OperatingStatus::Offline,
            MemberHealth::NoCheck => OperatingStatus::NoMonitor,
            MemberHealth::Restarting => return None,
        })
    }

    /// Parses HAProxy's spelling; Octavia matches `UP…` and `DOWN…` by prefix.
    pub fn parse(s: &str) -> Option<MemberHealth> {
        let fraction = |rest: &str| -> Option<(u32, u32)> {
            let (a, b) = rest.trim().split_once('/')?;
            Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
        };
        Some(match s {
            "UP" => MemberHealth::Up,
            "DOWN" => MemberHealth::Down,
            "DRAIN" => MemberHealth::Drain,
            "MAINT" => MemberHealth::Maint,
            "no check" => MemberHealth::NoCheck,
            "RESTARTING" => MemberHealth::Restarting,
            s if s.starts_with("UP") => match fraction(&s[2..]) {
                Some((health, fall)) => MemberHealth::GoingDown { health, fall },
                None => MemberHealth::Up,
            },
            s if s.starts_with("DOWN") => match fraction(&s[4..]) {
                Some((health, rise)) => MemberHealth::GoingUp { health, rise },
                None => MemberHealth::Down,
            },
            _ => return None,
        })
    }
}

impl fmt::Display for MemberHealth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemberHealth::Up => f.write_str("UP"),
            MemberHealth::Down => f.write_str("DOWN"),
            MemberHealth::Drain => f.write_str("DRAIN"),
            MemberHealth::Maint => f.write_str("MAINT"),
            MemberHealth::NoCheck => f.write_str("no check"),
            MemberHealth::GoingDown { health, fall } => write!(f, "UP {health}/{fall}"),
            MemberHealth::GoingUp { health, rise } => write!(f, "DOWN {health}/{rise}"),
            MemberHealth::Restarting => f.write_str("RESTARTING"),
        }
    }
}

/// Compares with HAProxy's spelling.
impl PartialEq<&str> for MemberHealth {
    fn eq(&self, other: &&str) -> bool {
        MemberHealth::parse(other) == Some(*self)
    }
}

impl Serialize for MemberHealth {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MemberHealth {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        MemberHealth::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown member status '{s}'")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haproxy_spellings_round_trip_and_map_to_operating_status() {
        for (wire, status) in [
            ("UP", Some(OperatingStatus::Online)),
            ("UP 1/3", Some(OperatingStatus::Online)),
            ("DOWN", Some(OperatingStatus::Error)),
            ("DOWN 1/2", Some(OperatingStatus::Error)),
            ("DRAIN", Some(OperatingStatus::Draining)),
            ("MAINT", Some(OperatingStatus::Offline)),
            ("no check", Some(OperatingStatus::NoMonitor)),
            ("RESTARTING", None),
        ] {
            let h = MemberHealth::parse(wire).unwrap();
            assert_eq!(h.to_string(), wire);
            assert_eq!(h.operating_status(), status, "{wire}");
        }
        assert_eq!(MemberHealth::parse("bogus"), None);
        assert_eq!(
            serde_json::from_str::<MemberHealth>("\"UP 2/3\"").unwrap(),
            MemberHealth::GoingDown { health: 2, fall: 3 }
        );
    }
}
