-- Signed uploads (issue 6): objects addressed by their checked path `folder/filename`, beside
-- the route uploads. Times are unix milliseconds; metadata is a JSON object as TEXT.
CREATE TABLE IF NOT EXISTS uplift_objects (
    path TEXT PRIMARY KEY,
    id TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    crc32 BIGINT NOT NULL,
    width BIGINT,
    height BIGINT,
    metadata TEXT NOT NULL,
    disposition TEXT,
    acl TEXT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
-- One row per spent one-time URL or form: the insert that fails on the primary key is the
-- atomic "already used" check, across processes sharing the database.
CREATE TABLE IF NOT EXISTS uplift_signed_uses (
    upload_id TEXT PRIMARY KEY,
    used_at BIGINT NOT NULL
);
