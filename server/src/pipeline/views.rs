//! How an upload record looks to clients: the stored file with a URL to fetch it, and the
//! status answer.

use std::time::Duration;

use crate::db::UploadRecord;
use crate::protocol::{UploadResult, UploadStatus, UploadedFile};
use crate::route::Acl;
use crate::state::{now_ms, Shared};

/// `{base}/download/{key}?expires&sig`: a signed download path for a private file.
pub(crate) fn signed_download_path(shared: &Shared, key: &str, ttl: Duration) -> String {
    let expires = now_ms() / 1000 + ttl.as_secs().max(1) as i64;
    let sig = shared.signer.sign_download(key, expires);
    format!(
        "{}/download/{key}?expires={expires}&sig={sig}",
        shared.base_path
    )
}

/// `{base}/files/{key}?token=…`: the status path of an upload, with the token that opens it
/// (needed for a private file; see `endpoints::files`).
pub(crate) fn status_path(shared: &Shared, key: &str) -> String {
    let token = shared.signer.sign_status(key);
    format!("{}/files/{key}?token={token}", shared.base_path)
}

/// The status URL handed to the uploader, and to no one else.
pub(crate) fn status_url(shared: &Shared, origin: &str, key: &str) -> String {
    format!("{origin}{}", status_path(shared, key))
}

/// The file as clients see it, with a URL they can fetch it from.
pub(crate) fn uploaded_file(
    shared: &Shared,
    origin: &str,
    rec: &UploadRecord,
) -> Option<UploadedFile> {
    let stored = rec.stored.as_ref()?;
    let url = match rec.acl {
        Acl::PublicRead => format!("{origin}{}/download/{}", shared.base_path, rec.key),
        Acl::Private => format!(
            "{origin}{}",
            signed_download_path(shared, &rec.key, shared.limits.download_url_ttl)
        ),
    };
    Some(UploadedFile {
        key: rec.key.clone(),
        name: rec.name.clone(),
        custom_id: rec.custom_id.clone(),
        size: stored.size,
        content_type: stored.content_type.clone(),
        sha256: stored.sha256.clone(),
        crc32: stored.crc32,
        acl: rec.acl,
        content_disposition: rec.content_disposition,
        url,
        slug: rec.slug.clone(),
    })
}

pub(crate) fn upload_result(shared: &Shared, origin: &str, rec: &UploadRecord) -> UploadResult {
    UploadResult {
        key: rec.key.clone(),
        status: rec.status,
        file: uploaded_file(shared, origin, rec),
        server_data: if rec.status == UploadStatus::Complete {
            rec.server_data.clone()
        } else {
            None
        },
        error: rec.error.clone(),
        status_url: status_url(shared, origin, &rec.key),
    }
}
