//! VRRP for an ACTIVE_STANDBY pair, by keepalived (Debian's package): the configuration of
//! one amphora's instance, shaped as Octavia's `keepalived_base.template` renders it
//! (unicast peers, `nopreempt`, `accept`, no `state` line, so both start BACKUP and elect by
//! priority, and a survivor stays MASTER when its peer comes back), with two differences:
//! - an advertisement interval under a second is VRRPv3's (centiseconds), so a BACKUP takes
//!   over after 3 × interval + skew instead of Octavia's ≈3.65 s; VRRPv3 has no
//!   authentication, so PASS is only rendered for VRRPv2;
//! - a notify script writes the instance's state to a file (`vrrp` reads FAULT from it; who
//!   is MASTER it reads from the VIP itself). Scripts run as root with keepalived's script
//!   security on: their directories must not be writable by other users.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use model::VrrpState;

/// One amphora's VRRP instance.
#[derive(Clone, Debug)]
pub struct Vrrp {
    /// The load balancer's id without dashes (Octavia's `vrrp_group_name`).
    pub group: String,
    /// The interface holding the amphora's own (VRRP) address.
    pub interface: String,
    /// 100 for the amphora built as MASTER, 90 for the BACKUP.
    pub priority: u8,
    /// Octavia's `vrrp_id`: always 1, safe because peers are unicast.
    pub virtual_router_id: u8,
    pub advert_int: Duration,
    /// VRRPv2 only (first 8 characters used).
    pub auth_pass: String,
    /// This amphora's VRRP address (`vrrp_ip`).
    pub own_ip: IpAddr,
    /// The other amphorae's VRRP addresses.
    pub peers: Vec<IpAddr>,
    /// The VIPs with their subnet's prefix length.
    pub vips: Vec<(IpAddr, u8)>,
    /// A script whose failure puts the instance in FAULT (the engine's liveness).
    pub check_script: Option<PathBuf>,
    /// Where the notify script writes the state.
    pub state_file: PathBuf,
    /// The notify script itself (see [`notify_script`]).
    pub notify_script: PathBuf,
}

impl Vrrp {
    /// VRRPv3 when the interval is not a whole number of seconds.
    pub fn version(&self) -> u8 {
        if self.advert_int.subsec_millis() == 0 && self.advert_int >= Duration::from_secs(1) {
            2
        } else {
            3
        }
    }

    /// How long a BACKUP waits for a silent MASTER (RFC 5798 Master_Down_Interval).
    pub fn master_down_interval(&self) -> Duration {
        let skew = self
            .advert_int
            .mul_f64(f64::from(256 - u32::from(self.priority)) / 256.0);
        self.advert_int * 3 + skew
    }

    /// keepalived.conf for this instance.
    pub fn render(&self) -> String {
        let version = self.version();
        let advert = if version == 3 {
            // keepalived reads VRRPv3 intervals in seconds with centisecond precision.
            format!("{:.2}", self.advert_int.as_secs_f64())
        } else {
            self.advert_int.as_secs().to_string()
        };
        let mut out = format!(
            "global_defs {{\n    vrrp_version {version}\n    script_user root\n    enable_script_security\n}}\n\n"
        );
        if let Some(check) = &self.check_script {
            out.push_str(&format!(
                "vrrp_script check_script {{\n    script \"{}\"\n    interval 1\n    fall 2\n    rise 2\n}}\n\n",
                check.display()
            ));
        }
        let peers: String = self
            .peers
            .iter()
            .map(|p| format!("        {p}\n"))
            .collect();
        let same_family = |ip: &IpAddr| ip.is_ipv4() == self.own_ip.is_ipv4();
        let vips: String = self
            .vips
            .iter()
            .filter(|(ip, _)| same_family(ip))
            .map(|(ip, prefix)| format!("        {ip}/{prefix} dev {}\n", self.interface))
            .collect();
        let excluded: String = self
            .vips
            .iter()
            .filter(|(ip, _)| !same_family(ip))
            .map(|(ip, prefix)| format!("        {ip}/{prefix} dev {}\n", self.interface))
            .collect();
        out.push_str(&format!("vrrp_instance {} {{\n", self.group));
        out.push_str(&format!("    interface {}\n", self.interface));
        out.push_str(&format!(
            "    virtual_router_id {}\n",
            self.virtual_router_id
        ));
        out.push_str(&format!("    priority {}\n", self.priority));
        out.push_str("    nopreempt\n    accept\n");
        out.push_str("    garp_master_refresh 5\n    garp_master_refresh_repeat 2\n");
        out.push_str(&format!("    advert_int {advert}\n"));
        if version == 2 {
            let pass: String = self.auth_pass.chars().take(8).collect();
            out.push_str(&format!(
                "    authentication {{\n        auth_type PASS\n        auth_pass {pass}\n    }}\n"
            ));
        }
        out.push_str(&format!("    unicast_src_ip {}\n", self.own_ip));
        out.push_str(&format!("    unicast_peer {{\n{peers}    }}\n"));
        out.push_str(&format!("    virtual_ipaddress {{\n{vips}    }}\n"));
        if !excluded.is_empty() {
            out.push_str(&format!(
                "    virtual_ipaddress_excluded {{\n{excluded}    }}\n"
            ));
        }
        out.push_str(&format!(
            "    notify \"{}\"\n",
            self.notify_script.display()
        ));
        if self.check_script.is_some() {
            out.push_str("    track_script {\n        check_script\n    }\n");
        }
        out.push_str("}\n");
        out
    }
}

/// The notify script: keepalived calls it with `GROUP|INSTANCE NAME STATE PRIORITY`; it
/// writes STATE to `state_file` (through a rename, so a reader never sees half a word).
pub fn notify_script(state_file: &Path) -> String {
    let file = state_file.display();
    format!("#!/bin/sh\nprintf '%s\\n' \"$3\" > \"{file}.tmp\" && mv \"{file}.tmp\" \"{file}\"\n")
}

/// The state the notify script last wrote (None before keepalived reported one).
pub fn read_state(state_file: &Path) -> Option<VrrpState> {
    std::fs::read_to_string(state_file)
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair_member(priority: u8, advert_ms: u64) -> Vrrp {
        Vrrp {
            group: "4f2b0a7c5e8d4b1a9c3f6e2d1b0a9f8e".into(),
            interface: "ns-vrrp".into(),
            priority,
            virtual_router_id: 1,
            advert_int: Duration::from_millis(advert_ms),
            auth_pass: "0a1b2c3".into(),
            own_ip: "10.0.0.11".parse().unwrap(),
            peers: vec!["10.0.0.12".parse().unwrap()],
            vips: vec![
                ("10.0.0.100".parse().unwrap(), 24),
                ("2001:db8::100".parse().unwrap(), 64),
            ],
            check_script: Some("/run/amp/check.sh".into()),
            state_file: "/run/amp/vrrp.state".into(),
            notify_script: "/run/amp/notify.sh".into(),
        }
    }

    #[test]
    fn a_sub_second_interval_is_vrrp3_without_authentication_and_without_a_state_line() {
        let conf = pair_member(90, 100).render();
        assert!(conf.contains("vrrp_version 3"), "{conf}");
        assert!(conf.contains("advert_int 0.10"), "{conf}");
        assert!(!conf.contains("authentication"), "{conf}");
        assert!(!conf.contains("state "), "{conf}");
        for line in [
            "vrrp_instance 4f2b0a7c5e8d4b1a9c3f6e2d1b0a9f8e {",
            "priority 90",
            "nopreempt",
            "unicast_src_ip 10.0.0.11",
            "        10.0.0.12\n",
            "        10.0.0.100/24 dev ns-vrrp\n",
            "virtual_ipaddress_excluded {\n        2001:db8::100/64 dev ns-vrrp",
            "notify \"/run/amp/notify.sh\"",
            "track_script {\n        check_script",
        ] {
            assert!(conf.contains(line), "missing {line:?} in\n{conf}");
        }
    }

    #[test]
    fn whole_seconds_are_octavias_vrrp2_with_pass_authentication() {
        let member = pair_member(100, 1000);
        let conf = member.render();
        assert!(
            conf.contains("vrrp_version 2") && conf.contains("advert_int 1\n"),
            "{conf}"
        );
        assert!(
            conf.contains("auth_type PASS\n        auth_pass 0a1b2c3"),
            "{conf}"
        );
        // RFC 3768: 3 × 1 s + (256 − 100)/256 s.
        assert_eq!(member.master_down_interval().as_millis(), 3609);
        assert_eq!(
            pair_member(90, 1000).master_down_interval().as_millis(),
            3648
        );
    }

    #[test]
    fn states_are_keepalived_words() {
        assert_eq!("MASTER".parse::<VrrpState>(), Ok(VrrpState::Master));
        assert_eq!("BACKUP".parse::<VrrpState>(), Ok(VrrpState::Backup));
        assert_eq!("FAULT".parse::<VrrpState>(), Ok(VrrpState::Fault));
        assert!("STOP".parse::<VrrpState>().is_err());
    }
}
