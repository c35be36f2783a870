-- tus concatenation-unfinished: a final upload may list partial uploads that are still
-- receiving bytes. Each such partial names the final upload that lists it (its key), so it
-- belongs to one final upload at a time, is not terminated from under it, and shares its
-- expiry; NULL for every other row.
ALTER TABLE uplift_uploads ADD COLUMN tus_final TEXT;
-- On a final upload: the origin (scheme://host) it was created through, for the URLs handed
-- to the completion hook when its parts are joined without a request (by the sweep).
ALTER TABLE uplift_uploads ADD COLUMN tus_origin TEXT;

-- The partials of a final upload.
CREATE INDEX IF NOT EXISTS uplift_uploads_tus_final
    ON uplift_uploads (tus_final);
