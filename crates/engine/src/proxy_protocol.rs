//! The PROXY protocol header sent to members of PROXY / PROXYV2 pools (HAProxy's
//! `send-proxy` / `send-proxy-v2`), telling them the client's and the VIP's address.

use model::PoolProtocol;
use std::net::{IpAddr, SocketAddr};

/// The header a pool asks its members for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

impl Version {
    /// PROXY pools get version 1, PROXYV2 pools version 2, others none.
    pub fn for_pool(protocol: PoolProtocol) -> Option<Version> {
        match protocol {
            PoolProtocol::Proxy => Some(Version::V1),
            PoolProtocol::ProxyV2 => Some(Version::V2),
            _ => None,
        }
    }

    pub fn header(self, client: SocketAddr, local: SocketAddr) -> Vec<u8> {
        match self {
            Version::V1 => v1(client, local),
            Version::V2 => v2(client, local),
        }
    }
}

/// Version 1, text: `PROXY TCP4 <src> <dst> <sport> <dport>\r\n`.
pub fn v1(client: SocketAddr, local: SocketAddr) -> Vec<u8> {
    let (client, local) = same_family(client, local);
    let family = if client.is_ipv4() { "TCP4" } else { "TCP6" };
    format!(
        "PROXY {family} {} {} {} {}\r\n",
        client.ip(),
        local.ip(),
        client.port(),
        local.port()
    )
    .into_bytes()
}

const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";

/// Version 2, binary: signature, PROXY command, TCP over IPv4 or IPv6, the addresses.
pub fn v2(client: SocketAddr, local: SocketAddr) -> Vec<u8> {
    let (client, local) = same_family(client, local);
    let mut out = Vec::with_capacity(52);
    out.extend_from_slice(V2_SIGNATURE);
    out.push(0x21); // version 2, PROXY
    match (client.ip(), local.ip()) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            out.push(0x11); // AF_INET, STREAM
            out.extend_from_slice(&12u16.to_be_bytes());
            out.extend_from_slice(&src.octets());
            out.extend_from_slice(&dst.octets());
        }
        (src, dst) => {
            out.push(0x21); // AF_INET6, STREAM
            out.extend_from_slice(&36u16.to_be_bytes());
            out.extend_from_slice(&v6(src).octets());
            out.extend_from_slice(&v6(dst).octets());
        }
    }
    out.extend_from_slice(&client.port().to_be_bytes());
    out.extend_from_slice(&local.port().to_be_bytes());
    out
}

fn v6(ip: IpAddr) -> std::net::Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// Both ends in one family: a v4 client on a v6 socket is shown as v4 when it is mapped.
fn same_family(client: SocketAddr, local: SocketAddr) -> (SocketAddr, SocketAddr) {
    let canon = |a: SocketAddr| SocketAddr::new(a.ip().to_canonical(), a.port());
    let (c, l) = (canon(client), canon(local));
    if c.is_ipv4() == l.is_ipv4() {
        (c, l)
    } else {
        (
            SocketAddr::new(IpAddr::V6(v6(c.ip())), c.port()),
            SocketAddr::new(IpAddr::V6(v6(l.ip())), l.port()),
        )
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn headers_are_byte_exact() {
        let c = "10.1.2.3:40000".parse().unwrap();
        let l = "127.10.0.5:80".parse().unwrap();
        assert_eq!(
            super::v1(c, l),
            b"PROXY TCP4 10.1.2.3 127.10.0.5 40000 80\r\n"
        );
        let mut expected = b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c".to_vec();
        expected.extend_from_slice(&[10, 1, 2, 3, 127, 10, 0, 5, 0x9c, 0x40, 0, 80]);
        assert_eq!(super::v2(c, l), expected);
    }
}
