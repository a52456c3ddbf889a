//! Password hashes (Argon2id, PHC strings). Verification costs the same whether or not the
//! user exists, so timing tells nothing about which names are taken.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::sync::OnceLock;

pub fn hash(password: &str) -> String {
    let mut salt = [0u8; 16];
    aws_lc_rs::rand::fill(&mut salt).expect("the system's random source");
    let salt = SaltString::encode_b64(&salt).expect("16 bytes is a valid salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters")
        .to_string()
}

/// Does `password` match `stored`? With `stored` None (no such user, or a user without a
/// password) a hash of equal cost is still checked, and the answer is false.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("not a password anyone has"));
    let (phc, real) = match stored {
        Some(s) => (s, true),
        None => (dummy.as_str(), false),
    };
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let ok = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    ok && real
}

#[cfg(test)]
mod tests {
    #[test]
    fn hashes_verify_and_hide_the_password() {
        let h = super::hash("s3cret");
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(!h.contains("s3cret"));
        assert!(super::verify("s3cret", Some(&h)));
        assert!(!super::verify("wrong", Some(&h)));
        assert!(!super::verify("not a password anyone has", None));
        assert_ne!(super::hash("s3cret"), h, "salted");
    }
}
