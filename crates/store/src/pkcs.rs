//! Key material Octavia accepts that rustls cannot read as it is: PKCS12 bundles and private
//! keys under a passphrase (PKCS#8 `ENCRYPTED PRIVATE KEY` or OpenSSL's traditional
//! `Proc-Type: 4,ENCRYPTED`). Both are opened with AWS-LC, the library rustls already runs on
//! (OpenSSL-compatible, as Octavia's `cryptography` is), and handed on as plain PEM. The FFI
//! stays in this file: every pointer is owned by a guard that frees it.

use aws_lc_sys as ffi;
use std::ffi::{c_void, CString};
use std::ptr::{null, null_mut};

/// A certificate with its chain and the key, as PEM.
#[derive(Clone, PartialEq)]
pub struct Opened {
    /// The certificate, then the bundle's other certificates (intermediates).
    pub certificate_pem: String,
    pub private_key_pem: String,
}

struct Bio(*mut ffi::BIO);
impl Drop for Bio {
    fn drop(&mut self) {
        // SAFETY: the pointer came from BIO_new*, is non-null and freed once.
        unsafe { ffi::BIO_free(self.0) };
    }
}

impl Bio {
    /// A read-only BIO over `data` (borrowed: AWS-LC does not copy it).
    fn reading(data: &[u8]) -> Result<Bio, String> {
        // SAFETY: `data` outlives the BIO, which is dropped before this function's caller returns.
        let bio = unsafe { ffi::BIO_new_mem_buf(data.as_ptr().cast(), data.len() as _) };
        (!bio.is_null())
            .then_some(Bio(bio))
            .ok_or_else(|| "out of memory".into())
    }

    fn writing() -> Result<Bio, String> {
        // SAFETY: BIO_s_mem returns a static method table.
        let bio = unsafe { ffi::BIO_new(ffi::BIO_s_mem()) };
        (!bio.is_null())
            .then_some(Bio(bio))
            .ok_or_else(|| "out of memory".into())
    }

    fn text(&self) -> Result<String, String> {
        let (mut ptr, mut len) = (null(), 0usize);
        // SAFETY: a memory BIO; the contents are copied out before the BIO is freed.
        let bytes = unsafe {
            if ffi::BIO_mem_contents(self.0, &mut ptr, &mut len) != 1 {
                return Err("could not read back the PEM".into());
            }
            std::slice::from_raw_parts(ptr, len).to_vec()
        };
        String::from_utf8(bytes).map_err(|_| "PEM is not text".into())
    }
}

struct Key(*mut ffi::EVP_PKEY);
impl Drop for Key {
    fn drop(&mut self) {
        // SAFETY: owned, freed once (EVP_PKEY_free accepts null).
        unsafe { ffi::EVP_PKEY_free(self.0) };
    }
}

impl Key {
    /// Unencrypted PKCS#8 PEM (`BEGIN PRIVATE KEY`), which rustls reads for every key type.
    fn pem(&self) -> Result<String, String> {
        let out = Bio::writing()?;
        // SAFETY: valid key and BIO; no cipher, so no passphrase arguments are read.
        let ok = unsafe {
            ffi::PEM_write_bio_PKCS8PrivateKey(out.0, self.0, null(), null(), 0, None, null_mut())
        };
        if ok != 1 {
            return Err(last_error("could not write the private key"));
        }
        out.text()
    }
}

struct Certificate(*mut ffi::X509);
impl Drop for Certificate {
    fn drop(&mut self) {
        // SAFETY: owned, freed once (X509_free accepts null).
        unsafe { ffi::X509_free(self.0) };
    }
}

impl Certificate {
    fn pem(&self) -> Result<String, String> {
        let out = Bio::writing()?;
        // SAFETY: valid certificate and BIO.
        if unsafe { ffi::PEM_write_bio_X509(out.0, self.0) } != 1 {
            return Err(last_error("could not write a certificate"));
        }
        out.text()
    }
}

/// The reason AWS-LC gives for the last failure, after `what`.
fn last_error(what: &str) -> String {
    // SAFETY: ERR_get_error reads this thread's queue; the buffer is NUL-terminated by
    // ERR_error_string_n within its length.
    let code = unsafe { ffi::ERR_get_error() };
    if code == 0 {
        return what.to_string();
    }
    let mut buf = [0u8; 256];
    unsafe { ffi::ERR_error_string_n(code, buf.as_mut_ptr().cast(), buf.len()) };
    unsafe { ffi::ERR_clear_error() };
    let reason = std::ffi::CStr::from_bytes_until_nul(&buf)
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("{what} ({reason})")
}

/// Is this PEM key under a passphrase.
pub fn is_encrypted_key(pem: &str) -> bool {
    pem.contains("BEGIN ENCRYPTED PRIVATE KEY") || pem.contains("Proc-Type: 4,ENCRYPTED")
}

/// The key of `pem` opened with `passphrase`, as unencrypted PKCS#8 PEM.
pub fn decrypt_key(pem: &str, passphrase: &[u8]) -> Result<String, String> {
    let passphrase =
        CString::new(passphrase).map_err(|_| "the passphrase holds a NUL byte".to_string())?;
    let input = Bio::reading(pem.as_bytes())?;
    // SAFETY: without a callback AWS-LC reads `u` as the NUL-terminated passphrase, which
    // lives until the call returns; the returned key is owned by the guard.
    let key = unsafe {
        ffi::ERR_clear_error();
        Key(ffi::PEM_read_bio_PrivateKey(
            input.0,
            null_mut(),
            None,
            passphrase.as_ptr() as *mut c_void,
        ))
    };
    if key.0.is_null() {
        return Err(last_error(
            "the private key does not open with the container's private_key_passphrase",
        ));
    }
    key.pem()
}

/// A PKCS12 bundle (DER) without a password, as Octavia reads one: its certificate, the
/// other certificates as intermediates, and its key.
pub fn open_pkcs12(der: &[u8]) -> Result<Opened, String> {
    let mut cursor = der.as_ptr();
    // SAFETY: d2i reads at most `der.len()` bytes from `der`.
    let p12 = unsafe {
        ffi::ERR_clear_error();
        ffi::d2i_PKCS12(null_mut(), &mut cursor, der.len())
    };
    if p12.is_null() {
        return Err(last_error("not a PKCS12 bundle"));
    }
    let (mut key, mut cert, mut chain) = (null_mut(), null_mut(), null_mut());
    // SAFETY: `p12` is valid and freed right after; the outputs become owned below. The empty
    // password covers both encodings of "no password" (AWS-LC tries the other on a MAC miss).
    let parsed = unsafe {
        let parsed = ffi::PKCS12_parse(p12, c"".as_ptr(), &mut key, &mut cert, &mut chain);
        ffi::PKCS12_free(p12);
        parsed
    };
    let key = Key(key);
    let cert = Certificate(cert);
    // SAFETY: the stack and its certificates are owned here: each taken out is freed by its
    // guard, then the stack itself.
    let others: Vec<Certificate> = unsafe {
        if chain.is_null() {
            Vec::new()
        } else {
            let stack = chain as *mut ffi::OPENSSL_STACK;
            let taken = (0..ffi::OPENSSL_sk_num(stack))
                .map(|i| Certificate(ffi::OPENSSL_sk_value(stack, i).cast()))
                .collect();
            ffi::OPENSSL_sk_free(stack);
            taken
        }
    };
    if parsed != 1 {
        // SAFETY: reads this thread's error queue. A packed error's low 12 bits are its reason.
        let reason = unsafe { ffi::ERR_peek_error() } & 0xfff;
        return Err(if reason == ffi::PKCS8_R_INCORRECT_PASSWORD as u32 {
            unsafe { ffi::ERR_clear_error() };
            "the PKCS12 bundle does not open without a password".into()
        } else {
            last_error("not a PKCS12 bundle")
        });
    }
    if key.0.is_null() || cert.0.is_null() {
        return Err("the PKCS12 bundle holds no certificate and key".into());
    }
    let mut certificate_pem = cert.pem()?;
    for other in &others {
        certificate_pem.push_str(&other.pem()?);
    }
    Ok(Opened {
        certificate_pem,
        private_key_pem: key.pem()?,
    })
}
