//! The built-in identity: logins, token validation, revocation and the first-start bootstrap.

use crate::lockout::Lockout;
use crate::token::{Claims, Signer, TokenError};
use crate::{password, Principal, RoleRef};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::identity::{Assignment, Entity, Table};
use store::{Store, StoreError};
use tokio::sync::Semaphore;

pub const DEFAULT_DOMAIN_ID: &str = "default";
pub const DEFAULT_DOMAIN_NAME: &str = "Default";
pub const ADMIN: &str = "admin";
/// Keystone's bootstrap roles; each implies the next (admin ⇒ manager ⇒ member ⇒ reader).
pub const IMPLIED_ROLES: [&str; 4] = ["admin", "manager", "member", "reader"];
const SERVICE_ROLE: &str = "service";
/// Password checks waiting for a CPU beyond this many are refused (429) rather than queued.
const MAX_WAITING_LOGINS: usize = 64;

/// The endpoints the catalog in every token lists.
#[derive(Clone, Debug)]
pub struct Catalog {
    pub region: String,
    /// The identity endpoint, ending in `/v3`.
    pub identity: String,
    pub load_balancer: String,
    pub network: String,
    pub key_manager: String,
}

#[derive(Clone, Debug)]
pub struct IdentityConfig {
    pub token_ttl: Duration,
    pub catalog: Catalog,
    /// Failed logins of one user name in a row before it is locked, and for how long.
    pub lockout_attempts: u32,
    pub lockout_duration: Duration,
}

/// Why a login or a token was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthFailure {
    /// Deliberately vague: the message must not tell which part was wrong.
    #[error("The request you have made requires authentication.")]
    Unauthorized,
    #[error("{0}")]
    BadRequest(String),
    #[error("Too many failed logins for this user name; try again in {0} seconds.")]
    Locked(u64),
    #[error("Too many logins in progress; try again shortly.")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Who a login names: by id, or by name in a domain.
#[derive(Clone, Debug)]
pub enum Named {
    Id(String),
    Name { name: String, domain: Domain },
}

#[derive(Clone, Debug)]
pub enum Domain {
    Id(String),
    Name(String),
}

impl Domain {
    /// Only the Default domain exists.
    fn resolve(&self) -> Option<&'static str> {
        match self {
            Domain::Id(id) if id == DEFAULT_DOMAIN_ID => Some(DEFAULT_DOMAIN_ID),
            Domain::Name(n) if n == DEFAULT_DOMAIN_NAME => Some(DEFAULT_DOMAIN_ID),
            _ => None,
        }
    }
}

pub struct Identity {
    pub store: Store,
    pub config: IdentityConfig,
    signer: Signer,
    lockout: Lockout,
    hashing: Arc<Semaphore>,
    queue: Arc<Semaphore>,
    /// Validations by token digest, good while the identity generation they were made at
    /// holds: any identity change or revocation moves it, so nothing stale is served.
    validated: Mutex<HashMap<Vec<u8>, (Principal, i64)>>,
}

const MAX_VALIDATED: usize = 10_000;

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

impl Identity {
    pub fn new(store: Store, token_key: &[u8], config: IdentityConfig) -> Identity {
        Identity {
            store,
            lockout: Lockout::new(config.lockout_attempts, config.lockout_duration),
            config,
            signer: Signer::new(token_key),
            hashing: Arc::new(Semaphore::new(2)),
            queue: Arc::new(Semaphore::new(MAX_WAITING_LOGINS)),
            validated: Mutex::new(HashMap::new()),
        }
    }

    /// On a store without users: the bootstrap roles, project `admin` and user `admin` with
    /// `password` and the admin role there. Returns whether it created them.
    pub async fn bootstrap(&self, password: &str) -> Result<bool, StoreError> {
        if self.store.identity_count(Table::Users).await? > 0 {
            return Ok(false);
        }
        let mut admin_role = None;
        for name in IMPLIED_ROLES.iter().chain([&SERVICE_ROLE]) {
            let role = match self.store.identity_by_name(Table::Roles, "", name).await? {
                Some(r) => r,
                None => {
                    let r = Entity::new(new_id(), name.to_string(), "");
                    self.store.identity_put(Table::Roles, &r).await?;
                    r
                }
            };
            if *name == ADMIN {
                admin_role = Some(role.id);
            }
        }
        let project = match self
            .store
            .identity_by_name(Table::Projects, DEFAULT_DOMAIN_ID, ADMIN)
            .await?
        {
            Some(p) => p,
            None => {
                let p = Entity::new(new_id(), ADMIN.into(), DEFAULT_DOMAIN_ID);
                self.store.identity_put(Table::Projects, &p).await?;
                p
            }
        };
        let mut user = Entity::new(new_id(), ADMIN.into(), DEFAULT_DOMAIN_ID);
        user.password_hash = Some(hash(password).await);
        user.default_project_id = Some(project.id.clone());
        self.store.identity_put(Table::Users, &user).await?;
        self.store
            .assign_role(&Assignment {
                project_id: project.id,
                user_id: user.id,
                role_id: admin_role.expect("created above"),
            })
            .await?;
        Ok(true)
    }

    /// Password login, optionally scoped to a project.
    pub async fn password_login(
        &self,
        user: &Named,
        password: &str,
        scope: Option<&Named>,
    ) -> Result<(String, Principal), AuthFailure> {
        let lock_name = match user {
            Named::Id(id) => id.clone(),
            Named::Name { name, .. } => name.clone(),
        };
        if let Some(left) = self.lockout.locked(&lock_name) {
            return Err(AuthFailure::Locked(left.as_secs().max(1)));
        }
        let found = match user {
            Named::Id(id) => self.store.identity_get(Table::Users, id).await?,
            Named::Name { name, domain } => match domain.resolve() {
                Some(d) => self.store.identity_by_name(Table::Users, d, name).await?,
                None => None,
            },
        };
        let stored = found.as_ref().and_then(|u| u.password_hash.clone());
        if !self.check_password(password, stored).await? {
            self.lockout.failed(&lock_name);
            return Err(AuthFailure::Unauthorized);
        }
        self.lockout.succeeded(&lock_name);
        let user = found.ok_or(AuthFailure::Unauthorized)?;
        let project = match scope {
            Some(p) => Some(self.find_project(p).await?),
            None => user.default_project_id.clone(),
        };
        self.issue(&user, project, vec!["password".into()], None)
            .await
    }

    /// A new token from a valid one, optionally rescoped (Keystone's `token` method).
    pub async fn token_login(
        &self,
        token: &str,
        scope: Option<&Named>,
    ) -> Result<(String, Principal), AuthFailure> {
        let old = self.validate(token).await?;
        let user = self
            .store
            .identity_get(Table::Users, &old.user_id)
            .await?
            .ok_or(AuthFailure::Unauthorized)?;
        let project = match scope {
            Some(p) => Some(self.find_project(p).await?),
            None => old.project_id.clone(),
        };
        let mut methods = old.methods.clone();
        if !methods.iter().any(|m| m == "token") {
            methods.push("token".into());
        }
        // A token made from a token lives no longer than the first.
        self.issue(&user, project, methods, Some(old.expires_at))
            .await
    }

    /// The caller a token names, as of now: signature and expiry every time, the rest from
    /// the store or from a validation made at the current identity generation.
    pub async fn validate(&self, token: &str) -> Result<Principal, AuthFailure> {
        let claims = self.signer.verify(token, now()).map_err(|e: TokenError| {
            tracing::debug!(reason = %e, "token refused");
            AuthFailure::Unauthorized
        })?;
        let generation = self.store.identity_generation().await?;
        let key = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes())
            .as_ref()
            .to_vec();
        if let Some((p, at)) = self.validated.lock().expect("cache lock").get(&key) {
            if *at == generation {
                return Ok(p.clone());
            }
        }
        let principal = self.validate_in_store(&claims).await?;
        let mut cache = self.validated.lock().expect("cache lock");
        if cache.len() >= MAX_VALIDATED {
            cache.retain(|_, (_, at)| *at == generation);
            if cache.len() >= MAX_VALIDATED {
                cache.clear();
            }
        }
        cache.insert(key, (principal.clone(), generation));
        Ok(principal)
    }

    async fn validate_in_store(&self, claims: &Claims) -> Result<Principal, AuthFailure> {
        if self.store.is_revoked(&claims.audit_id).await? {
            return Err(AuthFailure::Unauthorized);
        }
        let user = self
            .store
            .identity_get(Table::Users, &claims.user_id)
            .await?
            .filter(|u| u.enabled)
            .ok_or(AuthFailure::Unauthorized)?;
        self.principal(&user, claims).await
    }

    /// Revokes a token at once (`DELETE /v3/auth/tokens`).
    pub async fn revoke(&self, token: &str) -> Result<(), AuthFailure> {
        let claims = self
            .signer
            .verify(token, now())
            .map_err(|_| AuthFailure::Unauthorized)?;
        self.store
            .revoke_token(&claims.audit_id, claims.expires_at, now())
            .await?;
        Ok(())
    }

    async fn check_password(
        &self,
        password: &str,
        stored: Option<String>,
    ) -> Result<bool, AuthFailure> {
        // Password hashing is deliberately slow: two at a time, and a bounded queue.
        let _queued = self
            .queue
            .clone()
            .try_acquire_owned()
            .map_err(|_| AuthFailure::Busy)?;
        let _permit = self
            .hashing
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| AuthFailure::Busy)?;
        let password = password.to_string();
        tokio::task::spawn_blocking(move || password::verify(&password, stored.as_deref()))
            .await
            .map_err(|_| AuthFailure::Busy)
    }

    async fn find_project(&self, p: &Named) -> Result<String, AuthFailure> {
        let found = match p {
            Named::Id(id) => self.store.identity_get(Table::Projects, id).await?,
            Named::Name { name, domain } => match domain.resolve() {
                Some(d) => {
                    self.store
                        .identity_by_name(Table::Projects, d, name)
                        .await?
                }
                None => None,
            },
        };
        found.map(|p| p.id).ok_or(AuthFailure::Unauthorized)
    }

    async fn issue(
        &self,
        user: &Entity,
        project_id: Option<String>,
        methods: Vec<String>,
        not_after: Option<i64>,
    ) -> Result<(String, Principal), AuthFailure> {
        if !user.enabled {
            return Err(AuthFailure::Unauthorized);
        }
        let issued_at = now();
        let mut expires_at = issued_at + self.config.token_ttl.as_secs() as i64;
        if let Some(limit) = not_after {
            expires_at = expires_at.min(limit);
        }
        let claims = Claims {
            user_id: user.id.clone(),
            project_id,
            methods,
            issued_at,
            expires_at,
            audit_id: base64_id(),
        };
        let principal = self.principal(user, &claims).await?;
        Ok((self.signer.issue(&claims), principal))
    }

    /// The principal of valid claims: the project must be enabled and the user must hold a
    /// role there; roles include the ones they imply.
    async fn principal(&self, user: &Entity, claims: &Claims) -> Result<Principal, AuthFailure> {
        let mut principal = Principal {
            user_id: user.id.clone(),
            user_name: user.name.clone(),
            project_id: None,
            project_name: None,
            roles: Vec::new(),
            methods: claims.methods.clone(),
            issued_at: claims.issued_at,
            expires_at: claims.expires_at,
            audit_id: claims.audit_id.clone(),
        };
        let Some(project_id) = &claims.project_id else {
            return Ok(principal);
        };
        let project = self
            .store
            .identity_get(Table::Projects, project_id)
            .await?
            .filter(|p| p.enabled)
            .ok_or(AuthFailure::Unauthorized)?;
        let assigned = self.store.role_names(&user.id, &project.id).await?;
        if assigned.is_empty() {
            return Err(AuthFailure::Unauthorized);
        }
        let all = self.store.identity_list(Table::Roles).await?;
        principal.roles = with_implied(&assigned, &all);
        principal.project_id = Some(project.id);
        principal.project_name = Some(project.name);
        Ok(principal)
    }
}

/// Keystone's implied roles: admin ⇒ manager ⇒ member ⇒ reader.
fn with_implied(assigned: &[String], all: &[Entity]) -> Vec<RoleRef> {
    let mut names: Vec<&str> = assigned.iter().map(String::as_str).collect();
    for name in assigned {
        if let Some(i) = IMPLIED_ROLES.iter().position(|r| r == name) {
            names.extend(&IMPLIED_ROLES[i + 1..]);
        }
    }
    let mut roles: Vec<RoleRef> = all
        .iter()
        .filter(|r| names.contains(&r.name.as_str()))
        .map(|r| RoleRef {
            id: r.id.clone(),
            name: r.name.clone(),
        })
        .collect();
    roles.sort_by(|a, b| a.name.cmp(&b.name));
    roles
}

pub async fn hash(password: &str) -> String {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .expect("hashing does not panic")
}

/// Keystone's audit ids: 16 random bytes, URL-safe base64.
fn base64_id() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system's random source");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
