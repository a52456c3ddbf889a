//! How `ostia up` learns who is calling (`--auth`): the built-in identity service with its
//! first-start bootstrap and clouds.yaml, a real Keystone, or `noauth`.

use identity::{Authenticator, Catalog, Identity, IdentityConfig, RemoteKeystone};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use store::Store;
use tokio::net::TcpListener;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthMode {
    /// Ostia's own Keystone-compatible identity on `identity_bind`.
    Builtin,
    /// Validate tokens against a real Keystone.
    Keystone { url: String },
    /// No tokens: the project comes from `X-Project-Id` and every caller is an administrator.
    NoAuth,
}

/// A secret of `len` random bytes (hex) in `<data_dir>/<name>`, created once with mode 0600;
/// concurrent first starts agree on one.
pub fn secret_file(data_dir: &Path, name: &str, len: usize) -> anyhow::Result<String> {
    std::fs::create_dir_all(data_dir)?;
    let path = data_dir.join(name);
    let staged = data_dir.join(format!(".{name}.{}", std::process::id()));
    amphora::pki::write_private(&staged, &amphora::random_hex(len))?;
    // link(2) fails if the file exists: then that one is the secret.
    let _ = std::fs::hard_link(&staged, &path);
    let _ = std::fs::remove_file(&staged);
    let secret = std::fs::read_to_string(&path)?.trim().to_string();
    anyhow::ensure!(!secret.is_empty(), "{} is empty", path.display());
    Ok(secret)
}

/// The identity service of a starting `ostia up`.
pub struct BuiltinIdentity {
    pub identity: Arc<Identity>,
    pub listener: TcpListener,
    /// `<data-dir>/clouds.yaml`, when this start wrote it or an earlier one did.
    pub clouds_yaml: Option<PathBuf>,
}

pub struct Endpoints {
    pub identity: SocketAddr,
    pub api: SocketAddr,
    pub network: SocketAddr,
    pub key_manager: SocketAddr,
}

pub const REGION: &str = "RegionOne";

/// Opens the built-in identity: signing key, bootstrap of `admin` with a random password on
/// a new data dir, and `clouds.yaml` (mode 0600) with that password.
pub async fn builtin(
    store: &Store,
    data_dir: &Path,
    listener: TcpListener,
    endpoints: Endpoints,
    token_ttl: Duration,
) -> anyhow::Result<BuiltinIdentity> {
    let key = secret_file(data_dir, "token.key", 32)?;
    let identity_url = format!("http://{}/v3", endpoints.identity);
    let config = IdentityConfig {
        token_ttl,
        catalog: Catalog {
            region: REGION.into(),
            identity: identity_url.clone(),
            load_balancer: format!("http://{}", endpoints.api),
            network: format!("http://{}", endpoints.network),
            key_manager: format!("http://{}", endpoints.key_manager),
        },
        lockout_attempts: 5,
        lockout_duration: Duration::from_secs(30),
    };
    let identity = Arc::new(Identity::new(store.clone(), key.as_bytes(), config));
    let path = data_dir.join("clouds.yaml");
    let password = amphora::random_hex(16);
    if identity.bootstrap(&password).await? {
        write_private(&path, &password_clouds_yaml(&identity_url, &password))?;
    } else if path.exists() {
        // The endpoints may have moved since: keep the password, refresh the URL.
        let old = std::fs::read_to_string(&path)?;
        if let Some(pw) = old
            .lines()
            .find_map(|l| l.trim().strip_prefix("password: "))
        {
            let pw = pw.trim_matches('"').to_string();
            write_private(&path, &password_clouds_yaml(&identity_url, &pw))?;
        }
    }
    Ok(BuiltinIdentity {
        identity,
        listener,
        clouds_yaml: path.exists().then_some(path),
    })
}

pub fn keystone(url: &str) -> Authenticator {
    Authenticator::Keystone(Arc::new(RemoteKeystone::new(url)))
}

fn password_clouds_yaml(auth_url: &str, password: &str) -> String {
    format!(
        "clouds:\n  ostia:\n    auth:\n      auth_url: {auth_url}\n      username: admin\n      \
         password: \"{password}\"\n      project_name: admin\n      user_domain_name: Default\n      \
         project_domain_name: Default\n    region_name: {REGION}\n    identity_api_version: 3\n    \
         interface: public\n"
    )
}

/// Replaces `path` whole with a file only its owner can read.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    let staged = path.with_extension(format!("yaml.{}", std::process::id()));
    amphora::pki::write_private(&staged, text)?;
    std::fs::rename(&staged, path)?;
    Ok(())
}
