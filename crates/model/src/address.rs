//! An IP address as the client spelled it. Octavia keeps and echoes the spelling
//! (`2001:db8:0:0:0:0:0:1` stays so), while every comparison and the data plane use the
//! parsed address.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::net::IpAddr;

#[derive(Clone, Debug)]
pub struct IpAddress {
    ip: IpAddr,
    text: String,
}

impl IpAddress {
    pub fn ip(&self) -> IpAddr {
        self.ip
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl From<IpAddr> for IpAddress {
    fn from(ip: IpAddr) -> IpAddress {
        IpAddress {
            ip,
            text: ip.to_string(),
        }
    }
}

impl std::str::FromStr for IpAddress {
    type Err = std::net::AddrParseError;

    fn from_str(s: &str) -> Result<IpAddress, Self::Err> {
        Ok(IpAddress {
            ip: s.parse()?,
            text: s.to_string(),
        })
    }
}

/// Two spellings of one address are the same address.
impl PartialEq for IpAddress {
    fn eq(&self, other: &IpAddress) -> bool {
        self.ip == other.ip
    }
}

impl Eq for IpAddress {}

impl fmt::Display for IpAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for IpAddress {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for IpAddress {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse()
            .map_err(|_| serde::de::Error::custom(format!("'{text}' is not an IP address")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spelling_is_kept_and_the_address_compared() {
        let long: IpAddress = "2001:db8:0:0:0:0:0:1".parse().unwrap();
        let short: IpAddress = "2001:db8::1".parse().unwrap();
        assert_eq!(long, short);
        assert_eq!(long.to_string(), "2001:db8:0:0:0:0:0:1");
        assert_eq!(
            serde_json::to_string(&long).unwrap(),
            "\"2001:db8:0:0:0:0:0:1\""
        );
        assert!(serde_json::from_str::<IpAddress>("\"10.0.0\"").is_err());
    }
}
