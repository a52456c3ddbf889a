//! Signed tokens: the claims in URL-safe base64, then an HMAC-SHA256 over them with a key kept
//! in the data dir. A token validates with the key alone; what can change after issue (user or
//! project disabled, roles, revocation) is checked against the store by `Identity::validate`.

use aws_lc_rs::hmac;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// Longer than any token we issue; longer input is refused before it is decoded.
pub const MAX_TOKEN_LEN: usize = 2048;
const PREFIX: &str = "ostia1";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    #[serde(rename = "u")]
    pub user_id: String,
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    #[serde(rename = "m")]
    pub methods: Vec<String>,
    /// Unix seconds.
    #[serde(rename = "i")]
    pub issued_at: i64,
    #[serde(rename = "e")]
    pub expires_at: i64,
    #[serde(rename = "a")]
    pub audit_id: String,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's signature does not match")]
    Forged,
    #[error("the token has expired")]
    Expired,
}

pub struct Signer {
    key: hmac::Key,
}

impl Signer {
    pub fn new(secret: &[u8]) -> Signer {
        Signer {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        }
    }

    pub fn issue(&self, claims: &Claims) -> String {
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialize"));
        let signed = format!("{PREFIX}.{body}");
        let tag = hmac::sign(&self.key, signed.as_bytes());
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    /// The claims of a token this key signed that has not expired at `now` (unix seconds).
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let (signed, tag) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let body = signed
            .strip_prefix(PREFIX)
            .and_then(|b| b.strip_prefix('.'))
            .ok_or(TokenError::Malformed)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| TokenError::Malformed)?;
        // Constant-time comparison inside aws-lc.
        hmac::verify(&self.key, signed.as_bytes(), &tag).map_err(|_| TokenError::Forged)?;
        let json = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| TokenError::Malformed)?;
        let claims: Claims = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
        if claims.expires_at <= now {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(expires_at: i64) -> Claims {
        Claims {
            user_id: "u".into(),
            project_id: Some("p".into()),
            methods: vec!["password".into()],
            issued_at: 100,
            expires_at,
            audit_id: "a".into(),
        }
    }

    #[test]
    fn round_trip_expiry_and_forgery() {
        let signer = Signer::new(b"secret");
        let token = signer.issue(&claims(200));
        assert_eq!(signer.verify(&token, 150), Ok(claims(200)));
        assert_eq!(signer.verify(&token, 200), Err(TokenError::Expired));
        assert_eq!(
            Signer::new(b"other").verify(&token, 150),
            Err(TokenError::Forged)
        );
        // A changed claim with the old signature.
        let (_, tag) = token.rsplit_once('.').unwrap();
        let forged = signer.issue(&Claims {
            user_id: "admin".into(),
            ..claims(200)
        });
        let (signed, _) = forged.rsplit_once('.').unwrap();
        assert_eq!(
            signer.verify(&format!("{signed}.{tag}"), 150),
            Err(TokenError::Forged)
        );
        for junk in ["", "x", "ostia1.", "ostia1..", "a.b.c", &"x".repeat(5000)] {
            assert!(signer.verify(junk, 150).is_err(), "{junk}");
        }
    }
}
