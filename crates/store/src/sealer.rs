//! Payloads at rest: AES-256-GCM with a key kept in the data dir (`secrets.key`, 0600), a
//! fresh random nonce per payload, and the secret's id as associated data, so a sealed
//! payload copied onto another row does not open.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use std::path::Path;

pub struct Sealer {
    key: LessSafeKey,
}

#[derive(Debug, thiserror::Error)]
#[error("a sealed payload does not open (wrong key or altered)")]
pub struct Unsealable;

impl Sealer {
    pub fn new(key: &[u8; 32]) -> Sealer {
        let unbound = UnboundKey::new(&AES_256_GCM, key).expect("a 32-byte key fits AES-256");
        Sealer {
            key: LessSafeKey::new(unbound),
        }
    }

    /// The key of `<data_dir>/secrets.key`, made on first use.
    pub fn load_or_create(data_dir: &Path) -> std::io::Result<Sealer> {
        let path = data_dir.join("secrets.key");
        let key = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = vec![0u8; 32];
                aws_lc_rs::rand::fill(&mut key)
                    .map_err(|_| std::io::Error::other("no randomness"))?;
                match write_private(&path, &key) {
                    Ok(()) => key,
                    // Another process of this data dir made it first: theirs is the key.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        std::fs::read(&path)?
                    }
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| std::io::Error::other(format!("{} is not 32 bytes", path.display())))?;
        Ok(Sealer::new(&key))
    }

    /// nonce ‖ ciphertext ‖ tag.
    pub fn seal(&self, secret_id: &str, payload: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).expect("the system's random source");
        let mut sealed = payload.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(secret_id.as_bytes()),
                &mut sealed,
            )
            .expect("sealing a payload in memory");
        let mut out = nonce.to_vec();
        out.append(&mut sealed);
        out
    }

    pub fn open(&self, secret_id: &str, sealed: &[u8]) -> Result<Vec<u8>, Unsealable> {
        if sealed.len() < NONCE_LEN {
            return Err(Unsealable);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| Unsealable)?;
        let mut body = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(secret_id.as_bytes()), &mut body)
            .map_err(|_| Unsealable)?;
        Ok(plain.to_vec())
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_opens_only_with_its_key_and_its_id() {
        let s = Sealer::new(&[7u8; 32]);
        let sealed = s.seal("a", b"-----BEGIN CERTIFICATE-----");
        assert!(!sealed.windows(5).any(|w| w == b"BEGIN"), "not in clear");
        assert_eq!(
            s.open("a", &sealed).unwrap(),
            b"-----BEGIN CERTIFICATE-----"
        );
        assert!(s.open("b", &sealed).is_err(), "bound to its secret");
        assert!(Sealer::new(&[8u8; 32]).open("a", &sealed).is_err());
        assert_ne!(
            sealed,
            s.seal("a", b"-----BEGIN CERTIFICATE-----"),
            "fresh nonce"
        );
    }
}
