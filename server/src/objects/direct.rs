//! Signed uploads straight to the storage bucket ([`SignOptions::direct`]). The bucket's own
//! presigned `PUT` or POST form takes the file into an inbox object, binding what the store
//! checks itself (the type or its start, an exact size or a size range, the SHA-256). The
//! client then `POST`s the completion URL, `{base}/objects?policy=…&signature=…`: a policy
//! like a form's, holding every rule of the upload, signed for completion only. The server
//! reads the inbox object back through the checks an upload through it gets, and promotes it
//! to the object's path (`endpoints::objects`).
//!
//! [`SignOptions::direct`]: super::SignOptions::direct

use std::time::Duration;

use crate::error::UploadError;
use crate::protocol::{PostForm, SignedPost, SignedPut};
use crate::storage::InboxRules;

use super::policy::{seal, Policy, Purpose};
use super::{now_secs, path, url, SignedUploads, SizeRule, DEFAULT_MAX_SIZE};

/// The inbox object of a policy's upload, without the file name a form may add:
/// `{completion expiry}.{upload id}`. The sweeper reads the expiry from the name.
pub(crate) fn inbox_name(policy: &Policy) -> String {
    format!("{}.{}", policy.expiration, policy.id)
}

/// When a completion URL stops working: the upload URL's expiry, plus the time a transfer
/// begun just before it may still take (`Limits::stale_upload_after`), within the 7 days any
/// signature may live.
fn completion_expiry(handle: &SignedUploads, expiry: i64) -> i64 {
    let window = handle.shared.limits.stale_upload_after.as_secs() as i64;
    expiry + window.min(crate::signing::MAX_EXPIRY_SECS)
}

/// The smallest and largest size a policy allows.
fn size_bounds(policy: &Policy) -> (u64, u64) {
    let (mut min, mut max) = policy.size.unwrap_or((0, DEFAULT_MAX_SIZE));
    if let Some((a, b)) = policy.content_length_range {
        (min, max) = (min.max(a), max.min(b));
    }
    (min, max)
}

/// The policy signed for completion, and its URL.
fn completion(handle: &SignedUploads, policy: &Policy) -> Result<(Policy, String), UploadError> {
    let mut done = policy.clone();
    done.expiration = completion_expiry(handle, policy.expiration);
    let (policy_b64, signature) = seal(handle, &done, Purpose::Completion)?;
    let query = serde_urlencoded::to_string([("policy", policy_b64), ("signature", signature)])
        .map_err(UploadError::internal)?;
    let url = format!(
        "{}{}/objects?{query}",
        handle.origin_prefix(),
        handle.shared.base_path
    );
    Ok((done, url))
}

fn ttl(expiry: i64) -> Duration {
    Duration::from_secs((expiry - now_secs()).max(1) as u64)
}

/// A presigned bucket `PUT` for the upload `grant` allows at `full`; `None` when the backend
/// has no inbox.
pub(crate) fn sign_put(
    handle: &SignedUploads,
    full: &str,
    grant: &url::Grant,
) -> Result<Option<SignedPut>, UploadError> {
    let Some(store) = handle.shared.storage.as_direct() else {
        return Ok(None);
    };
    let id = grant.id.clone().unwrap_or_else(super::new_id);
    let policy = Policy {
        expiration: grant.expiry,
        id: id.clone(),
        dir: path::split(full).0.to_string(),
        key: Some(full.to_string()),
        key_prefix: None,
        content_length_range: None,
        size: grant.size.map(|s| match s {
            SizeRule::Exact(n) => (n, n),
            SizeRule::Range(a, b) => (a, b),
        }),
        content_type: grant.content_type.clone(),
        content_type_prefix: None,
        sha256: grant.sha256.clone(),
        crc32: grant.crc32,
        metadata: grant.metadata.clone(),
        disposition: grant.disposition.clone(),
        acl: grant.acl.unwrap_or(crate::route::Acl::Private),
        prevent_overwrite: grant.prevent_overwrite,
        one_time: grant.one_time,
    };
    let (done, complete_url) = completion(handle, &policy)?;
    let rules = InboxRules {
        content_type: policy.content_type.clone(),
        content_type_prefix: None,
        size: size_bounds(&policy),
        sha256: policy.sha256.clone(),
    };
    let Some(put) = store
        .presign_inbox_put(&inbox_name(&done), &rules, ttl(grant.expiry))
        .map_err(UploadError::internal)?
    else {
        return Ok(None);
    };
    Ok(Some(SignedPut {
        upload_url: put.url,
        upload_id: id,
        headers: put.headers,
        expires_at: grant.expiry,
        complete_url: Some(complete_url),
    }))
}

/// A presigned bucket form for the upload `policy` allows; `None` when the store takes no
/// forms.
pub(crate) fn sign_post(
    handle: &SignedUploads,
    policy: &Policy,
) -> Result<Option<SignedPost>, UploadError> {
    let Some(store) = handle.shared.storage.as_direct() else {
        return Ok(None);
    };
    let (done, complete_url) = completion(handle, policy)?;
    let mut name = inbox_name(&done);
    if policy.key.is_none() {
        name = format!("{name}/{}", crate::storage::INBOX_FILENAME);
    }
    let rules = InboxRules {
        content_type: policy.content_type.clone(),
        content_type_prefix: policy.content_type_prefix.clone(),
        size: size_bounds(policy),
        sha256: None,
    };
    let Some(form) = store
        .presign_inbox_post(&name, &rules, ttl(policy.expiration))
        .map_err(UploadError::internal)?
    else {
        return Ok(None);
    };
    Ok(Some(SignedPost {
        form: PostForm {
            url: form.url,
            fields: form.fields,
        },
        upload_id: policy.id.clone(),
        expires_at: policy.expiration,
        complete_url: Some(complete_url),
    }))
}
