-- Managing stored files: listings newest first (by creation time, then key, as the cursor
-- orders them), overall, per route and per caller.
CREATE INDEX IF NOT EXISTS uplift_uploads_created_key
    ON uplift_uploads (created_at, key);
CREATE INDEX IF NOT EXISTS uplift_uploads_slug_created
    ON uplift_uploads (slug, created_at);
CREATE INDEX IF NOT EXISTS uplift_uploads_caller_created
    ON uplift_uploads (caller, created_at);
