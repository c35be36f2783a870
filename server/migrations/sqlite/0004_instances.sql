-- Crash recovery: the server instance responsible for a row while it is in flight — receiving
-- a PUT (`uploading`), holding a tus upload's lock, or running its completion (`completing`).
-- At start, an instance fails or releases what its previous (killed) process left behind.
ALTER TABLE uplift_uploads ADD COLUMN instance_id TEXT;
CREATE INDEX IF NOT EXISTS uplift_uploads_instance_status
    ON uplift_uploads (instance_id, status);
