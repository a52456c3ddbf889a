-- Amphora hosts (`ostia agent`), as Neutron keeps its agents: registered by their first
-- signed report, alive while they keep reporting (`heartbeat_at`, milliseconds).
CREATE TABLE IF NOT EXISTS hosts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    local_ip TEXT NOT NULL,
    agent TEXT,
    admin_state_up BIGINT NOT NULL DEFAULT 1,
    description TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    started_at TEXT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);
