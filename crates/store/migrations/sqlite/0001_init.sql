-- Every Octavia object: columns every object has, other attributes as a JSON document.
CREATE TABLE IF NOT EXISTS resources (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    lb_id TEXT,
    parent_id TEXT,
    project_id TEXT,
    provisioning_status TEXT NOT NULL,
    operating_status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT,
    seq INTEGER NOT NULL,
    attrs TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS resources_kind ON resources (kind, seq);
CREATE INDEX IF NOT EXISTS resources_lb ON resources (lb_id);
CREATE INDEX IF NOT EXISTS resources_parent ON resources (parent_id);

-- Work for the worker: one row per accepted mutation of a load balancer tree.
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lb_id TEXT NOT NULL,
    action TEXT NOT NULL,
    object_kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    state TEXT NOT NULL,
    lease_owner TEXT,
    lease_until INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    created_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, id);

-- The built-in network service (Neutron's wire shapes).
CREATE TABLE IF NOT EXISTS networks (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    project_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    external INTEGER NOT NULL DEFAULT 0,
    shared INTEGER NOT NULL DEFAULT 0,
    attrs TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS subnets (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    network_id TEXT NOT NULL,
    cidr TEXT NOT NULL,
    gateway_ip TEXT,
    pool_start TEXT NOT NULL,
    pool_end TEXT NOT NULL,
    project_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    ip_version INTEGER NOT NULL DEFAULT 4,
    attrs TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS ports (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    network_id TEXT NOT NULL,
    subnet_id TEXT NOT NULL,
    ip_address TEXT NOT NULL,
    device_id TEXT NOT NULL DEFAULT '',
    device_owner TEXT NOT NULL DEFAULT '',
    project_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (subnet_id, ip_address)
);

CREATE TABLE IF NOT EXISTS quotas (
    project_id TEXT PRIMARY KEY,
    attrs TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS listener_stats (
    listener_id TEXT NOT NULL,
    amphora_id TEXT NOT NULL,
    bytes_in INTEGER NOT NULL DEFAULT 0,
    bytes_out INTEGER NOT NULL DEFAULT 0,
    active_connections INTEGER NOT NULL DEFAULT 0,
    total_connections INTEGER NOT NULL DEFAULT 0,
    request_errors INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (listener_id, amphora_id)
);

-- Bumped by every committed change of `resources`: readers reuse what they parsed until it moves.
CREATE TABLE IF NOT EXISTS generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO generation (id, value) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
-- The generation at which each load balancer's tree last changed: readers reload only those.
CREATE TABLE IF NOT EXISTS tree_versions (
    lb_id TEXT PRIMARY KEY,
    generation INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tree_versions_generation ON tree_versions (generation);

-- When each amphora last reported (Octavia's `amphora_health`); `busy` while a failover of
-- it is under way.
CREATE TABLE IF NOT EXISTS amphora_health (
    amphora_id TEXT PRIMARY KEY,
    last_update INTEGER NOT NULL,
    busy INTEGER NOT NULL DEFAULT 0
);

-- New rows take MAX(seq) + 1, and children are listed by parent in creation order: both
-- must not scan the table.
CREATE INDEX IF NOT EXISTS resources_seq ON resources (seq);
CREATE INDEX IF NOT EXISTS resources_parent_seq ON resources (parent_id, seq);
CREATE INDEX IF NOT EXISTS amphora_health_stale ON amphora_health (busy, last_update);

-- The built-in identity service (Keystone v3 subset). Only the Default domain exists; `extra`
-- holds the attributes Keystone echoes but does not interpret (description, email, …).
CREATE TABLE IF NOT EXISTS id_projects (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    domain_id TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    extra TEXT NOT NULL,
    UNIQUE (domain_id, name)
);
CREATE TABLE IF NOT EXISTS id_users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    domain_id TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    extra TEXT NOT NULL,
    -- argon2 PHC string; never the password.
    password_hash TEXT,
    default_project_id TEXT,
    UNIQUE (domain_id, name)
);
CREATE TABLE IF NOT EXISTS id_roles (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    domain_id TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    extra TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS id_assignments (
    project_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    role_id TEXT NOT NULL,
    PRIMARY KEY (user_id, project_id, role_id)
);
CREATE INDEX IF NOT EXISTS id_assignments_project ON id_assignments (project_id);
-- Tokens revoked before their expiry (by audit id); rows go when the token would have expired.
CREATE TABLE IF NOT EXISTS id_revocations (
    audit_id TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
-- Bumped by every change of the identity tables and every revocation: validations cached
-- at one value are reused until it moves.
CREATE TABLE IF NOT EXISTS id_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO id_generation (id, value) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;

-- Routers of the network endpoint. Their interfaces and gateway are ports (device_id = the
-- router, device_owner network:router_interface / network:router_gateway).
CREATE TABLE IF NOT EXISTS routers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    project_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attrs TEXT NOT NULL
);

-- Floating IPs: an address on an external network (held by a port whose device is the
-- floating IP), associated with at most one port's fixed address.
CREATE TABLE IF NOT EXISTS floatingips (
    id TEXT PRIMARY KEY,
    floating_network_id TEXT NOT NULL,
    floating_ip_address TEXT NOT NULL,
    port_id TEXT,
    fixed_ip_address TEXT,
    router_id TEXT,
    project_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attrs TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS floatingips_port ON floatingips (port_id);

-- LBaaS v1 objects (the `neutron lb-*` commands) that the load-balancer model has no place
-- for. A v1 pool is an Octavia pool on a load balancer of its own; its subnet (where its
-- members live) is kept here. v1 health monitors are shared between pools: each
-- association is one Octavia health monitor on that pool.
CREATE TABLE IF NOT EXISTS v1_pools (
    pool_id TEXT PRIMARY KEY,
    lb_id TEXT NOT NULL,
    subnet_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS v1_monitors (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attrs TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS v1_monitor_pools (
    monitor_id TEXT NOT NULL,
    pool_id TEXT NOT NULL,
    healthmonitor_id TEXT NOT NULL,
    PRIMARY KEY (monitor_id, pool_id)
);

-- The key manager (Barbican subset). Payloads are sealed (AES-256-GCM, key in the data dir)
-- before they reach this table.
CREATE TABLE IF NOT EXISTS km_secrets (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    creator_id TEXT NOT NULL,
    name TEXT,
    secret_type TEXT NOT NULL,
    content_type TEXT,
    sealed BLOB,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    attrs TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS km_containers (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    creator_id TEXT NOT NULL,
    name TEXT,
    container_type TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    -- secret_refs [{name, secret_id}] and consumers [{name, URL}]
    attrs TEXT NOT NULL
);
