//! HAProxy's `show stat` read as Octavia's amphora agent reads it for its heartbeat (reference
//! §8.5): a FRONTEND row per listener (`OPEN`, or `FULL` at its connection limit, and its
//! counters), a BACKEND row `<pool id>:<listener id>` per pool a listener uses (`UP`/`DOWN`),
//! and a row per member named by its id, whose status is HAProxy's words (`UP`, `DOWN`,
//! `UP 1/3`, `no check`, `MAINT`, …), an UP member of weight 0 being `DRAIN`. The result is
//! the engine's `Status`, so that the heartbeat renders it as it renders the native engine's.

use engine::{Counters, ListenerStatus, MemberStatus, PoolStatus, Status};
use model::{ListenerHealth, MemberHealth, PoolHealth};
use std::collections::HashMap;

/// One row of `show stat`, by column name.
struct Row<'a> {
    fields: HashMap<&'a str, &'a str>,
}

impl<'a> Row<'a> {
    fn get(&self, name: &str) -> &'a str {
        self.fields.get(name).copied().unwrap_or("")
    }

    fn number(&self, name: &str) -> u64 {
        self.get(name).parse().unwrap_or(0)
    }
}

fn rows(csv: &str) -> Vec<Row<'_>> {
    let mut lines = csv.lines();
    let Some(header) = lines.next().and_then(|h| h.strip_prefix("# ")) else {
        return Vec::new();
    };
    let names: Vec<&str> = header.split(',').collect();
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| Row {
            fields: names.iter().copied().zip(l.split(',')).collect(),
        })
        .collect()
}

/// The engine's `Status` of the load balancer `show stat` describes, at `generation`.
pub fn status(csv: &str, generation: u64) -> Status {
    let rows = rows(csv);
    let mut listeners = Vec::new();
    let mut pools: Vec<PoolStatus> = Vec::new();
    for row in rows.iter().filter(|r| r.get("svname") == "FRONTEND") {
        let full = row.number("slim") > 0 && row.number("scur") >= row.number("slim");
        let id = row.get("pxname").to_string();
        let used: Vec<String> = rows
            .iter()
            .filter(|r| r.get("svname") == "BACKEND")
            .filter_map(|r| {
                let (pool, listener) = r.get("pxname").rsplit_once(':')?;
                (listener == id).then(|| pool.to_string())
            })
            .collect();
        listeners.push(ListenerStatus {
            id,
            status: if full {
                ListenerHealth::Full
            } else {
                ListenerHealth::Open
            },
            counters: Counters {
                bytes_in: row.number("bin"),
                bytes_out: row.number("bout"),
                active_connections: row.number("scur"),
                total_connections: row.number("stot"),
                request_errors: row.number("ereq"),
            },
            pools: used,
        });
    }
    for backend in rows.iter().filter(|r| r.get("svname") == "BACKEND") {
        let Some((pool, _)) = backend.get("pxname").rsplit_once(':') else {
            continue;
        };
        if pools.iter().any(|p| p.id == pool) {
            continue;
        }
        let members = rows
            .iter()
            .filter(|r| r.get("pxname") == backend.get("pxname"))
            .filter(|r| !matches!(r.get("svname"), "BACKEND" | "FRONTEND"))
            .map(member)
            .collect();
        pools.push(PoolStatus {
            id: pool.to_string(),
            status: if backend.get("status") == "UP" {
                PoolHealth::Up
            } else {
                PoolHealth::Down
            },
            members,
        });
    }
    Status {
        generation,
        listeners,
        pools,
    }
}

fn member(row: &Row<'_>) -> MemberStatus {
    let mut health = MemberHealth::parse(row.get("status")).unwrap_or(MemberHealth::Down);
    if health == MemberHealth::Up && row.get("weight") == "0" {
        health = MemberHealth::Drain;
    }
    MemberStatus {
        id: row.get("svname").to_string(),
        status: health,
        active_connections: row.number("scur"),
        total_connections: row.number("stot"),
        bytes_in: row.number("bin"),
        bytes_out: row.number("bout"),
        connect_errors: row.number("econ"),
        checks: 0,
        check_failures: row.number("chkfail"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail\n\
        l1,FRONTEND,,,2,5,100,40,1000,2000,0,0,3,,,,,OPEN,,,,\n\
        l2,FRONTEND,,,100,100,100,9,1,2,0,0,0,,,,,OPEN,,,,\n\
        p1:l1,m1,0,0,1,2,,20,500,900,,0,,1,0,0,0,UP,1,1,0,0\n\
        p1:l1,m2,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,0,1,0,0\n\
        p1:l1,m3,0,0,0,0,,0,0,0,,0,,4,0,0,0,DOWN 1/2,1,1,0,7\n\
        p1:l1,m4,0,0,0,0,,0,0,0,,0,,0,0,0,0,no check,1,1,0,0\n\
        p1:l1,BACKEND,0,0,1,2,,20,500,900,0,0,,5,0,0,0,UP,3,3,0,\n\
        p2:l2,m5,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0,0\n\
        p2:l2,BACKEND,0,0,0,0,,0,0,0,0,0,,0,0,0,0,DOWN,0,0,0,\n";

    #[test]
    fn rows_map_to_listeners_pools_and_members_as_octavias_agent_reads_them() {
        let s = status(CSV, 7);
        assert_eq!(s.generation, 7);
        let l1 = &s.listeners[0];
        assert_eq!((l1.id.as_str(), l1.status), ("l1", ListenerHealth::Open));
        assert_eq!(l1.pools, ["p1"]);
        assert_eq!(
            (
                l1.counters.bytes_in,
                l1.counters.bytes_out,
                l1.counters.request_errors
            ),
            (1000, 2000, 3)
        );
        assert_eq!(s.listeners[1].status, ListenerHealth::Full);
        let p1 = &s.pools[0];
        assert_eq!((p1.id.as_str(), p1.status), ("p1", PoolHealth::Up));
        let health: Vec<String> = p1.members.iter().map(|m| m.status.to_string()).collect();
        assert_eq!(health, ["UP", "DRAIN", "DOWN 1/2", "no check"]);
        assert_eq!(p1.members[2].check_failures, 7);
        assert_eq!(s.pools[1].status, PoolHealth::Down);
        assert_eq!(s.pools[1].members[0].status, MemberHealth::Maint);
    }

    #[test]
    fn garbage_is_an_empty_status() {
        let s = status("not a csv", 1);
        assert!(s.listeners.is_empty() && s.pools.is_empty());
    }
}
