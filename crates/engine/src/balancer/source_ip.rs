//! SOURCE_IP and SOURCE_IP_PORT: weighted rendezvous hashing. Each member scores every key;
//! the highest score wins. Removing a member moves only the keys it won, and the placement
//! is the same in every process and after every restart (the hash has a fixed seed).

use super::{Backend, Balancer};

pub struct SourceIp;

impl Balancer for SourceIp {
    fn pick(
        &self,
        backends: &[Backend],
        usable: &dyn Fn(usize) -> bool,
        key: u64,
    ) -> Option<usize> {
        let mut best: Option<(usize, f64)> = None;
        for (i, b) in backends.iter().enumerate() {
            if !usable(i) {
                continue;
            }
            let h = mix(key ^ b.id_hash);
            // A uniform value in (0, 1); -w/ln(u) is the weighted rendezvous score.
            let u = ((h >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
            let score = -f64::from(b.config.weight.max(1)) / u.ln();
            if best.is_none_or(|(_, s)| score > s) {
                best = Some((i, score));
            }
        }
        best.map(|(i, _)| i)
    }
}

/// splitmix64's finaliser: spreads nearby keys (consecutive ports, addresses) apart.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// FNV-1a of a string: a member's stable identity in the hash.
pub fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
