-- Upload records: one row per prepared (or multipart-ingested) file.
-- Sizes are u64 stored as BIGINT; times are unix milliseconds; JSON is TEXT.
CREATE TABLE IF NOT EXISTS uplift_uploads (
    key                 TEXT    NOT NULL PRIMARY KEY,
    slug                TEXT    NOT NULL,
    status              TEXT    NOT NULL
        CHECK (status IN ('pending', 'uploading', 'completing', 'complete', 'failed', 'expired')),
    name                TEXT    NOT NULL,
    custom_id           TEXT,
    size                BIGINT  NOT NULL CHECK (size >= 0),
    content_type        TEXT    NOT NULL,
    declared_sha256     TEXT,
    acl                 TEXT    NOT NULL CHECK (acl IN ('public-read', 'private')),
    content_disposition TEXT    NOT NULL CHECK (content_disposition IN ('inline', 'attachment')),
    metadata            TEXT    NOT NULL,
    stored_size         BIGINT,
    stored_sha256       TEXT,
    stored_crc32        BIGINT,
    stored_content_type TEXT,
    server_data         TEXT,
    error               TEXT,
    expires_at          BIGINT  NOT NULL,
    created_at          BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL
);

-- Sweeps: pending rows past their expiry, uploading rows gone stale.
CREATE INDEX IF NOT EXISTS uplift_uploads_status_expires_at
    ON uplift_uploads (status, expires_at);
