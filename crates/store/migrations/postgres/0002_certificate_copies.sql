-- Certificates a real Barbican holds (Keystone mode), copied when the API loaded them with the
-- user's token, so the worker can serve them later without one: a sealed CertificateBundle.
CREATE TABLE IF NOT EXISTS km_copies (
    reference TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    sealed BYTEA NOT NULL,
    updated_at TEXT NOT NULL
);
