-- Hosts say which networks they carry (each network's VXLAN peers come from it), and a
-- network gets a VXLAN id the first time a host plumbs it.
ALTER TABLE hosts ADD COLUMN networks TEXT NOT NULL DEFAULT '[]';
CREATE TABLE IF NOT EXISTS network_vnis (
    network_id TEXT PRIMARY KEY,
    vni BIGINT NOT NULL UNIQUE
);
