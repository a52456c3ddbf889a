//! ICMP echo for PING monitors: an unprivileged ICMP socket where the kernel allows it
//! (`net.ipv4.ping_group_range`), a raw socket otherwise (needs CAP_NET_RAW).

use socket2::{Domain, Protocol, Socket, Type};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

pub async fn echo(ip: IpAddr) -> bool {
    tokio::task::spawn_blocking(move || blocking_echo(ip, Duration::from_secs(1)))
        .await
        .unwrap_or(false)
}

fn blocking_echo(ip: IpAddr, wait: Duration) -> bool {
    let (domain, protocol, request) = match ip {
        IpAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4, 8u8),
        IpAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6, 128u8),
    };
    let (socket, raw) = match Socket::new(domain, Type::DGRAM, Some(protocol)) {
        Ok(s) => (s, false),
        Err(_) => match Socket::new(domain, Type::RAW, Some(protocol)) {
            Ok(s) => (s, true),
            Err(_) => return false,
        },
    };
    let _ = socket.set_read_timeout(Some(wait));
    let id = (std::process::id() & 0xffff) as u16;
    let mut packet = vec![request, 0, 0, 0, (id >> 8) as u8, id as u8, 0, 1];
    packet.extend_from_slice(b"ostia-ping");
    if ip.is_ipv4() {
        let sum = checksum(&packet);
        packet[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    if socket
        .send_to(&packet, &SocketAddr::new(ip, 0).into())
        .is_err()
    {
        return false;
    }
    let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 1500];
    let deadline = std::time::Instant::now() + wait;
    while std::time::Instant::now() < deadline {
        let Ok((n, from)) = socket.recv_from(&mut buf) else {
            return false;
        };
        // SAFETY: recv_from initialised the first n bytes.
        let data: Vec<u8> = buf[..n]
            .iter()
            .map(|b| unsafe { b.assume_init() })
            .collect();
        let from_ip = from.as_socket().map(|a| a.ip());
        // Raw IPv4 sockets hand over the IP header too.
        let icmp = if raw && ip.is_ipv4() {
            let ihl = usize::from(data.first().copied().unwrap_or(0x45) & 0x0f) * 4;
            data.get(ihl..).unwrap_or(&[])
        } else {
            &data[..]
        };
        let reply = if ip.is_ipv4() { 0 } else { 129 };
        if from_ip == Some(ip) && icmp.first() == Some(&reply) {
            return true;
        }
    }
    false
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}
