-- tus resumable uploads (issue 5): a tus upload is an ordinary upload record in status
-- 'uploading' with these columns set. tus_offset IS NOT NULL marks a tus upload.
ALTER TABLE uplift_uploads ADD COLUMN tus_offset BIGINT;
-- The total length; NULL while deferred (Upload-Defer-Length: 1).
ALTER TABLE uplift_uploads ADD COLUMN tus_length BIGINT;
-- NULL, 'partial', or 'final;<url> <url> …' (concatenation).
ALTER TABLE uplift_uploads ADD COLUMN tus_concat TEXT;
-- The raw Upload-Metadata header, echoed on HEAD.
ALTER TABLE uplift_uploads ADD COLUMN tus_metadata TEXT;
-- The per-upload lock: a lease taken by one atomic UPDATE, held by one PATCH at a time.
ALTER TABLE uplift_uploads ADD COLUMN tus_lock_owner TEXT;
ALTER TABLE uplift_uploads ADD COLUMN tus_lock_until BIGINT;
