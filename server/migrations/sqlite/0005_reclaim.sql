-- Per-caller limits: who started each upload (a keyed hash of the app's caller identity, never
-- the identity itself) and how many bytes it reserves (the declared size, or the route's largest
-- file while a tus length is deferred). NULL for rows from before this migration.
ALTER TABLE uplift_uploads ADD COLUMN caller TEXT;
ALTER TABLE uplift_uploads ADD COLUMN reserved BIGINT;

-- Counting one caller's unfinished uploads.
CREATE INDEX IF NOT EXISTS uplift_uploads_caller_status
    ON uplift_uploads (caller, status);
-- Purging failed and expired rows past their retention.
CREATE INDEX IF NOT EXISTS uplift_uploads_status_updated_at
    ON uplift_uploads (status, updated_at);
