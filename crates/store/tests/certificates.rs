//! Certificate bundles from what users store in a key manager, made with the real `openssl`
//! command as users make them: PKCS12 bundles (with a chain, without a password, as Octavia
//! reads them) and keys under a passphrase (PKCS#8 and OpenSSL's traditional form). Checked
//! by what a user would check: the served key is the certificate's key.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use store::certificates::{bundle, single, SecretSource};

#[derive(Default)]
struct Memory {
    containers: HashMap<String, Vec<(String, String)>>,
    secrets: HashMap<String, Vec<u8>>,
}

impl SecretSource for Memory {
    async fn container(&self, reference: &str) -> Result<Option<Vec<(String, String)>>, String> {
        Ok(self.containers.get(reference).cloned())
    }
    async fn payload(&self, reference: &str) -> Result<Vec<u8>, String> {
        self.secrets
            .get(reference)
            .cloned()
            .ok_or_else(|| format!("no secret {reference}"))
    }
}

/// `openssl` with `args` split at spaces.
fn openssl(dir: &Path, args: &str) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args.split(' '))
        .current_dir(dir)
        .output()
        .expect("the openssl command");
    assert!(
        out.status.success(),
        "openssl {args}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A CA and a leaf it signed, in `dir`: ca.pem, leaf.key (PKCS#8 P-256), leaf.pem.
fn chain(dir: &Path) {
    openssl(dir, "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 30 -subj /CN=test-ca");
    openssl(dir, "req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -out leaf.csr -subj /CN=www.example.com");
    openssl(
        dir,
        "x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 30",
    );
}

/// The public key of a PEM private key, as openssl prints it.
fn public_of(dir: &Path, key_pem: &str) -> Vec<u8> {
    std::fs::write(dir.join("check.key"), key_pem).unwrap();
    openssl(dir, "pkey -in check.key -pubout")
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

fn workdir() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    (tmp, dir)
}

#[tokio::test]
async fn a_pkcs12_secret_serves_its_certificate_chain_and_key() {
    let (_tmp, dir) = workdir();
    chain(&dir);
    let p12 = openssl(
        &dir,
        "pkcs12 -export -inkey leaf.key -in leaf.pem -certfile ca.pem -passout pass:",
    );
    let mut km = Memory::default();
    km.secrets.insert("p12".into(), p12);
    let b = bundle(&km, "p12").await.expect("the PKCS12 bundle opens");
    let leaf = read(&dir, "leaf.pem");
    let ca = read(&dir, "ca.pem");
    assert!(
        b.certificate_pem.starts_with(&leaf),
        "the leaf comes first: {}",
        b.certificate_pem
    );
    assert!(
        b.certificate_pem.contains(&ca),
        "the CA follows as intermediate"
    );
    assert!(b.private_key_pem.contains("BEGIN PRIVATE KEY"));
    assert_eq!(
        public_of(&dir, &b.private_key_pem),
        public_of(&dir, &read(&dir, "leaf.key")),
        "the key is the leaf's"
    );
}

#[tokio::test]
async fn a_pkcs12_secret_under_a_password_or_not_pkcs12_is_refused_with_the_reason() {
    let (_tmp, dir) = workdir();
    chain(&dir);
    let p12 = openssl(
        &dir,
        "pkcs12 -export -inkey leaf.key -in leaf.pem -passout pass:hunter2",
    );
    let mut km = Memory::default();
    km.secrets.insert("locked".into(), p12);
    km.secrets
        .insert("junk".into(), b"\x30\x03\x02\x01\x07 not a bundle".to_vec());
    let err = bundle(&km, "locked").await.unwrap_err();
    assert!(err.contains("does not open without a password"), "{err}");
    let err = bundle(&km, "junk").await.unwrap_err();
    assert!(err.contains("not a PKCS12 bundle"), "{err}");
}

#[tokio::test]
async fn keys_under_a_passphrase_open_with_the_containers_passphrase() {
    let (_tmp, dir) = workdir();
    chain(&dir);
    // PKCS#8 (what OpenSSL 3 writes) and the traditional form with a DEK-Info header.
    let pkcs8 = openssl(&dir, "pkey -in leaf.key -aes256 -passout pass:hunter2");
    openssl(&dir, "genrsa -out rsa.key 2048");
    let traditional = openssl(
        &dir,
        "rsa -in rsa.key -aes128 -traditional -passout pass:hunter2",
    );
    assert!(String::from_utf8_lossy(&traditional).contains("Proc-Type: 4,ENCRYPTED"));
    let mut km = Memory::default();
    km.secrets
        .insert("cert".into(), read(&dir, "leaf.pem").into_bytes());
    km.secrets.insert("pkcs8".into(), pkcs8);
    km.secrets.insert("traditional".into(), traditional);
    km.secrets.insert("pass".into(), b"hunter2".to_vec());
    km.secrets.insert("wrong".into(), b"hunter3".to_vec());
    let container = |key: &str, pass: Option<&str>| {
        let mut parts = vec![
            ("certificate".to_string(), "cert".to_string()),
            ("private_key".to_string(), key.to_string()),
        ];
        if let Some(p) = pass {
            parts.push(("private_key_passphrase".into(), p.into()));
        }
        parts
    };
    km.containers
        .insert("c8".into(), container("pkcs8", Some("pass")));
    km.containers
        .insert("ct".into(), container("traditional", Some("pass")));
    km.containers
        .insert("wrong".into(), container("pkcs8", Some("wrong")));
    km.containers
        .insert("none".into(), container("pkcs8", None));

    let b = bundle(&km, "c8").await.expect("PKCS#8 opens");
    assert_eq!(
        public_of(&dir, &b.private_key_pem),
        public_of(&dir, &read(&dir, "leaf.key"))
    );
    let b = bundle(&km, "ct").await.expect("the traditional form opens");
    assert_eq!(
        public_of(&dir, &b.private_key_pem),
        public_of(&dir, &read(&dir, "rsa.key"))
    );
    let err = bundle(&km, "wrong").await.unwrap_err();
    assert!(err.contains("does not open with"), "{err}");
    let err = bundle(&km, "none").await.unwrap_err();
    assert!(err.contains("has no private_key_passphrase"), "{err}");
    // A CA ref naming a container reads its certificate only.
    assert_eq!(single(&km, "c8").await.unwrap(), read(&dir, "leaf.pem"));
}
