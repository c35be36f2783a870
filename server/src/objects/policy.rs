//! Signed POST forms (S3-style): a base64url JSON policy, its HMAC `signature`, and the
//! conditions a browser's `multipart/form-data` POST must meet — key or key prefix,
//! content-length range, content type or type prefix, metadata. Any breach is
//! `POLICY_VIOLATION` with `data.condition` naming it.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, UploadError};
use crate::protocol::{PostForm, SignedPost};
use crate::route::Acl;

use super::{now_secs, path, Plan, PostOptions, SignedUploads, SizeRule};

/// Form fields carrying metadata: `x-uplift-meta-{key}`.
pub const META_FIELD: &str = "x-uplift-meta-";
/// Stands for the file part's own name in a `key` (S3's spelling).
pub const FILENAME_VAR: &str = "${filename}";

/// What a form's policy says; every field is signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    /// Unix seconds.
    pub expiration: i64,
    pub id: String,
    pub dir: String,
    /// The exact key, when the browser may not choose it.
    pub key: Option<String>,
    /// The start of the key (`{dir}/{key_prefix}`), when it may.
    pub key_prefix: Option<String>,
    pub content_length_range: Option<(u64, u64)>,
    pub size: Option<(u64, u64)>,
    pub content_type: Option<String>,
    pub content_type_prefix: Option<String>,
    pub sha256: Option<String>,
    pub crc32: Option<u32>,
    pub metadata: BTreeMap<String, String>,
    pub disposition: Option<String>,
    pub acl: Acl,
    pub prevent_overwrite: bool,
    pub one_time: bool,
}

/// What a policy's signature is for: a form sent to this server, or the completion of an
/// upload sent straight to the storage bucket. A signature for one is never valid for the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    Form,
    Completion,
}

fn canonical(purpose: Purpose, policy_b64: &str) -> String {
    match purpose {
        Purpose::Form => format!("uplift-policy-v1\n{policy_b64}"),
        Purpose::Completion => format!("uplift-complete-v1\n{policy_b64}"),
    }
}

/// The policy as base64url JSON, and its signature for `purpose`.
pub(crate) fn seal(
    handle: &SignedUploads,
    policy: &Policy,
    purpose: Purpose,
) -> Result<(String, String), UploadError> {
    let json = serde_json::to_vec(policy).map_err(UploadError::internal)?;
    let policy_b64 = URL_SAFE_NO_PAD.encode(json);
    let signature = handle.shared.signer.sign(&canonical(purpose, &policy_b64));
    Ok((policy_b64, signature))
}

/// The policy a signature for `purpose` covers, unless it has expired.
pub(crate) fn open(
    handle: &SignedUploads,
    policy_b64: &str,
    signature: &str,
    purpose: Purpose,
) -> Result<Policy, UploadError> {
    let unsigned = || UploadError::new(ErrorCode::SignatureInvalid, "the policy is not signed");
    handle
        .shared
        .signer
        .verify(&canonical(purpose, policy_b64), signature)
        .map_err(|_| {
            UploadError::new(
                ErrorCode::SignatureInvalid,
                "the policy's signature is invalid",
            )
        })?;
    let raw = URL_SAFE_NO_PAD.decode(policy_b64).map_err(|_| unsigned())?;
    let policy: Policy = serde_json::from_slice(&raw).map_err(|_| unsigned())?;
    if now_secs() >= policy.expiration {
        return Err(UploadError::new(
            ErrorCode::Expired,
            "the policy has expired",
        ));
    }
    Ok(policy)
}

fn violation(condition: &str, message: impl Into<String>) -> UploadError {
    UploadError::new(ErrorCode::PolicyViolation, message)
        .with_data(serde_json::json!({ "condition": condition }))
}

pub(crate) fn sign_form(
    handle: &SignedUploads,
    dir: &str,
    opts: &PostOptions,
    expires_in: i64,
) -> Result<SignedPost, UploadError> {
    path::check(dir)?;
    let o = &opts.sign;
    let id = super::new_id();
    let (key, exact_key, key_prefix) = match &opts.key_prefix {
        Some(prefix) => {
            // The prefix is a path start: its folders must be safe names too.
            path::join(dir, &format!("{prefix}x"))?;
            (
                format!("{dir}/{prefix}{FILENAME_VAR}"),
                None,
                Some(prefix.clone()),
            )
        }
        None => {
            let full = path::join(dir, o.filename.as_deref().unwrap_or(&id))?;
            (full.clone(), Some(full), None)
        }
    };
    if let Some((min, max)) = opts.content_length_range {
        if min > max {
            return Err(UploadError::new(
                ErrorCode::InvalidInput,
                "the content-length range's minimum is above its maximum",
            ));
        }
    }
    let policy = Policy {
        expiration: now_secs() + expires_in,
        id: id.clone(),
        dir: dir.to_string(),
        key: exact_key,
        key_prefix,
        content_length_range: opts.content_length_range,
        size: o.size.map(|s| match s {
            SizeRule::Exact(n) => (n, n),
            SizeRule::Range(a, b) => (a, b),
        }),
        content_type: o.content_type.clone(),
        content_type_prefix: opts.content_type_prefix.clone(),
        sha256: o.sha256.as_ref().map(|h| h.to_ascii_lowercase()),
        crc32: o.crc32,
        metadata: o.metadata.clone(),
        disposition: o.content_disposition.clone(),
        acl: o.acl,
        prevent_overwrite: o.prevent_overwrite,
        one_time: o.one_time,
    };
    if o.direct {
        if let Some(post) = super::direct::sign_post(handle, &policy)? {
            return Ok(post);
        }
    }
    let (policy_b64, signature) = seal(handle, &policy, Purpose::Form)?;
    let mut fields = BTreeMap::new();
    fields.insert("key".to_string(), key);
    if let Some(t) = &o.content_type {
        fields.insert("Content-Type".to_string(), t.clone());
    }
    for (k, v) in &o.metadata {
        fields.insert(format!("{META_FIELD}{k}"), v.clone());
    }
    fields.insert("policy".to_string(), policy_b64);
    fields.insert("signature".to_string(), signature);
    Ok(SignedPost {
        form: PostForm {
            url: format!(
                "{}{}/objects",
                handle.origin_prefix(),
                handle.shared.base_path
            ),
            fields,
        },
        upload_id: id,
        expires_at: policy.expiration,
        complete_url: None,
    })
}

/// Checks a form's fields (all read before the file part) and the file part's name and type
/// against its signed policy; the upload they allow.
pub(crate) fn check_form(
    handle: &SignedUploads,
    fields: &BTreeMap<String, String>,
    file_name: Option<&str>,
    file_type: Option<&str>,
) -> Result<Plan, UploadError> {
    let unsigned = || UploadError::new(ErrorCode::SignatureInvalid, "the form is not signed");
    let policy_b64 = fields.get("policy").ok_or_else(unsigned)?;
    let signature = fields.get("signature").ok_or_else(unsigned)?;
    let policy = open(handle, policy_b64, signature, Purpose::Form)?;

    let mut key = fields
        .get("key")
        .cloned()
        .ok_or_else(|| violation("key", "the form has no `key` field"))?;
    if key.contains(FILENAME_VAR) {
        let name = file_name
            .filter(|n| !n.is_empty())
            .ok_or_else(|| violation("key", "`${filename}` needs a file part with a file name"))?;
        key = key.replace(FILENAME_VAR, name);
    }
    let declared = fields
        .get("Content-Type")
        .or_else(|| fields.get("content-type"))
        .map(String::as_str)
        .or(file_type);
    let sent_meta: BTreeMap<String, String> = fields
        .iter()
        .filter_map(|(k, v)| {
            k.to_ascii_lowercase()
                .strip_prefix(META_FIELD)
                .map(|m| (m.to_string(), v.clone()))
        })
        .collect();
    plan(policy, key, declared, Some(&sent_meta))
}

/// The upload a verified policy allows for a file stored as `key` with the `declared` type;
/// with `sent_meta`, the metadata fields a form sent must be the signed ones.
pub(crate) fn plan(
    policy: Policy,
    key: String,
    declared: Option<&str>,
    sent_meta: Option<&BTreeMap<String, String>>,
) -> Result<Plan, UploadError> {
    path::check(&key)?;
    match (&policy.key, &policy.key_prefix) {
        (Some(exact), _) if &key != exact => {
            return Err(violation(
                "key",
                "the key is not the one the form was signed for",
            ))
        }
        (None, Some(prefix)) if !key.starts_with(&format!("{}/{prefix}", policy.dir)) => {
            return Err(violation(
                "key-prefix",
                "the key does not start with the signed prefix",
            ))
        }
        _ => {}
    }
    if !key.starts_with(&format!("{}/", policy.dir)) {
        return Err(violation("key", "the key is outside the signed folder"));
    }

    let declared = declared
        .and_then(crate::route::normalize_mime)
        .unwrap_or_else(|| "application/octet-stream".into());
    if let Some(t) = &policy.content_type {
        if &declared != t {
            return Err(violation(
                "content-type",
                format!("the file's type must be {t}"),
            ));
        }
    }
    if let Some(prefix) = &policy.content_type_prefix {
        if !declared.starts_with(prefix.as_str()) {
            return Err(violation(
                "content-type-prefix",
                format!("the file's type must start with {prefix}"),
            ));
        }
    }
    let signed_meta: BTreeMap<String, String> = policy
        .metadata
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    if sent_meta.is_some_and(|sent| sent != &signed_meta) {
        return Err(violation(
            "metadata",
            "the metadata fields differ from the signed ones",
        ));
    }

    let (mut min, mut max) = (0, super::DEFAULT_MAX_SIZE);
    let mut exact = None;
    if let Some((a, b)) = policy.size {
        (min, max) = (a, b);
        if a == b {
            exact = Some(a);
        }
    }
    if let Some((a, b)) = policy.content_length_range {
        (min, max) = (min.max(a), max.min(b));
    }
    Ok(Plan {
        path: key,
        id: policy.id,
        declared_type: declared,
        exact_size: exact,
        min_size: min,
        max_size: max,
        size_condition: policy.content_length_range.map(|_| "content-length-range"),
        sha256: policy.sha256,
        crc32: policy.crc32,
        metadata: policy.metadata,
        disposition: policy.disposition,
        acl: policy.acl,
        prevent_overwrite: policy.prevent_overwrite,
        one_time: policy.one_time,
    })
}
