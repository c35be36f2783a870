//! Signed URLs: HMAC-SHA256 over a canonical string, verified in constant time.
//!
//! A signature binds the method, the storage key, the expiry and, for uploads, the exact size,
//! the content type and the optional SHA-256. It is sent as `sig=<key id>.<base64url mac>`, so
//! several secrets can be accepted while one signs (rotation without breaking live URLs).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{ErrorCode, UploadError};

type HmacSha256 = Hmac<Sha256>;

/// The shortest secret accepted, in bytes.
pub const MIN_SECRET_LEN: usize = 32;
/// The longest lifetime a signed URL may have: 7 days, as with S3 presigned URLs.
pub const MAX_EXPIRY_SECS: i64 = 7 * 24 * 3600;

/// One secret with the id that names it inside signatures.
#[derive(Clone)]
pub struct SigningKey {
    id: String,
    secret: Vec<u8>,
}

impl SigningKey {
    /// `id` must be short and URL-safe (`[A-Za-z0-9_-]`, 1–16 chars); `secret` ≥ 32 bytes.
    pub fn new(id: impl Into<String>, secret: impl Into<Vec<u8>>) -> Result<Self, SigningKeyError> {
        let id = id.into();
        let secret = secret.into();
        if id.is_empty()
            || id.len() > 16
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(SigningKeyError::BadId(id));
        }
        if secret.len() < MIN_SECRET_LEN {
            return Err(SigningKeyError::TooShort(secret.len()));
        }
        Ok(SigningKey { id, secret })
    }

    /// The key's id, written into every URL it signs so that verification finds the key after
    /// rotation.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// A key for another purpose (upload tokens), derived so that a MAC made with one can
    /// never pass as the other: HMAC(secret, label).
    pub(crate) fn derive(&self, label: &str) -> Vec<u8> {
        let mut mac = HmacSha256::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(label.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        f.debug_struct("SigningKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Why a signing key, or the set of them, was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SigningKeyError {
    /// The key id is empty, longer than 16 characters, or has a character outside `[A-Za-z0-9_-]`.
    #[error("signing key id `{0}` must be 1-16 characters of [A-Za-z0-9_-]")]
    BadId(String),
    /// The secret is shorter than [`MIN_SECRET_LEN`](crate::MIN_SECRET_LEN) bytes; holds its
    /// length.
    #[error("signing secret is {0} bytes; at least 32 are required")]
    TooShort(usize),
    /// No key was given: the builder needs at least one `secret` or `signing_key`.
    #[error("no signing key configured")]
    None,
    /// Two keys have the same id, so a signature could not name its key.
    #[error("two signing keys share the id `{0}`")]
    DuplicateId(String),
}

/// Signs with the first key; accepts any of them.
#[derive(Clone, Debug)]
pub struct Signer {
    keys: Vec<SigningKey>,
}

/// What an upload URL promises; every field is part of the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadGrant<'a> {
    pub key: &'a str,
    pub expires: i64,
    pub size: u64,
    pub content_type: &'a str,
    pub sha256: Option<&'a str>,
}

impl Signer {
    /// The first key signs; the others are still accepted (rotate by prepending a new key).
    pub fn new(keys: Vec<SigningKey>) -> Result<Self, SigningKeyError> {
        if keys.is_empty() {
            return Err(SigningKeyError::None);
        }
        for (i, k) in keys.iter().enumerate() {
            if keys[..i].iter().any(|o| o.id == k.id) {
                return Err(SigningKeyError::DuplicateId(k.id.clone()));
            }
        }
        Ok(Signer { keys })
    }

    fn mac(key: &SigningKey, canonical: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&key.secret).expect("HMAC takes any key length");
        mac.update(canonical.as_bytes());
        mac
    }

    /// The tag an upload record keeps of its caller: HMAC-SHA256 under a key derived from the
    /// signing key, hex, 128 bits. The identity (a user id, an IP address) cannot be read back
    /// from it, nor guessed by hashing candidates without the secret.
    pub(crate) fn caller_tag(&self, identity: &str) -> String {
        Self::tag_with(&self.keys[0], identity)
    }

    /// The caller's tag under every configured key, the signing key's first: what files
    /// recorded before a key rotation carry.
    pub(crate) fn caller_tags(&self, identity: &str) -> Vec<String> {
        self.keys
            .iter()
            .map(|k| Self::tag_with(k, identity))
            .collect()
    }

    fn tag_with(key: &SigningKey, identity: &str) -> String {
        let key = key.derive("uplift caller v1");
        let mut mac = HmacSha256::new_from_slice(&key).expect("HMAC takes any key length");
        mac.update(identity.as_bytes());
        crate::storage::local::hex(&mac.finalize().into_bytes()[..16])
    }

    /// The keys, signing key first.
    pub(crate) fn keys(&self) -> &[SigningKey] {
        &self.keys
    }

    pub(crate) fn sign(&self, canonical: &str) -> String {
        let key = &self.keys[0];
        let tag = Self::mac(key, canonical).finalize().into_bytes();
        format!("{}.{}", key.id, URL_SAFE_NO_PAD.encode(tag))
    }

    pub(crate) fn verify(&self, canonical: &str, sig: &str) -> Result<(), UploadError> {
        let invalid = || {
            UploadError::new(
                ErrorCode::SignatureInvalid,
                "the URL's signature is invalid",
            )
        };
        let (id, tag) = sig.split_once('.').ok_or_else(invalid)?;
        let key = self.keys.iter().find(|k| k.id == id).ok_or_else(invalid)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid())?;
        Self::mac(key, canonical)
            .verify_slice(&tag)
            .map_err(|_| invalid())
    }

    /// Signs an upload grant; the result goes into the URL as `sig`.
    pub fn sign_upload(&self, grant: &UploadGrant<'_>) -> String {
        self.sign(&upload_canonical(grant))
    }

    /// Checks signature first, then expiry (so a forged URL never learns whether it expired).
    pub fn verify_upload(
        &self,
        grant: &UploadGrant<'_>,
        sig: &str,
        now_secs: i64,
    ) -> Result<(), UploadError> {
        self.verify(&upload_canonical(grant), sig)?;
        check_expiry(grant.expires, now_secs)
    }

    /// The capability of one tus upload: a MAC over its key (the upload's own expiry bounds it).
    pub(crate) fn sign_tus(&self, key: &str) -> String {
        self.sign(&format!("tus\n{key}"))
    }

    pub(crate) fn verify_tus(&self, key: &str, sig: &str) -> Result<(), UploadError> {
        self.verify(&format!("tus\n{key}"), sig)
    }

    /// The status token of one upload: a MAC over its key under its own domain label, so it
    /// can never pass as an upload, download or tus signature (nor one of those as it). It proves
    /// the bearer was handed the upload (prepare, multipart, PUT or tus answer) and opens
    /// `GET {base}/files/{key}` of a private file. It does not expire: a status is only worth
    /// asking while the record lives, and the signed download URL it answers with expires.
    pub(crate) fn sign_status(&self, key: &str) -> String {
        self.sign(&status_canonical(key))
    }

    /// Checks a status token in constant time (`Mac::verify_slice`).
    pub(crate) fn verify_status(&self, key: &str, token: &str) -> Result<(), UploadError> {
        self.verify(&status_canonical(key), token)
    }

    /// Signs a download of `key` until `expires` (unix seconds).
    pub fn sign_download(&self, key: &str, expires: i64) -> String {
        self.sign(&download_canonical(key, expires))
    }

    pub fn verify_download(
        &self,
        key: &str,
        expires: i64,
        sig: &str,
        now_secs: i64,
    ) -> Result<(), UploadError> {
        self.verify(&download_canonical(key, expires), sig)?;
        check_expiry(expires, now_secs)
    }
}

fn check_expiry(expires: i64, now_secs: i64) -> Result<(), UploadError> {
    if now_secs >= expires {
        return Err(UploadError::new(
            ErrorCode::Expired,
            "the signed URL has expired",
        ));
    }
    if expires - now_secs > MAX_EXPIRY_SECS {
        // Only a leaked key could have signed this; refuse it all the same.
        return Err(UploadError::new(
            ErrorCode::SignatureInvalid,
            "the URL's expiry is out of bounds",
        ));
    }
    Ok(())
}

/// Newlines separate fields; none of the fields can contain one (keys are base64url, types
/// are validated MIME essences, numbers are numbers), so no two grants share a string.
fn upload_canonical(g: &UploadGrant<'_>) -> String {
    format!(
        "uplift-v1\nPUT\n{}\n{}\n{}\n{}\n{}",
        g.key,
        g.expires,
        g.size,
        g.content_type,
        g.sha256.unwrap_or("")
    )
}

/// `uplift-status-v1` is a label no other canonical string starts with (`uplift-v1`, `tus`).
fn status_canonical(key: &str) -> String {
    format!("uplift-status-v1\n{key}")
}

fn download_canonical(key: &str, expires: i64) -> String {
    format!("uplift-v1\nGET\n{key}\n{expires}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(ids: &[(&str, u8)]) -> Signer {
        Signer::new(
            ids.iter()
                .map(|(id, b)| SigningKey::new(*id, vec![*b; 32]).unwrap())
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn a_callers_tags_survive_a_key_rotation() {
        let before = signer(&[("k1", 1)]);
        let after = signer(&[("k2", 2), ("k1", 1)]);
        let tags = after.caller_tags("app:ann");
        assert_eq!(
            tags[0],
            after.caller_tag("app:ann"),
            "the signing key's first"
        );
        assert_eq!(
            tags[1],
            before.caller_tag("app:ann"),
            "files recorded before stay ann's"
        );
        assert_ne!(tags[0], tags[1]);
        assert_ne!(after.caller_tags("app:bob"), tags);
    }

    fn grant(size: u64) -> UploadGrant<'static> {
        UploadGrant {
            key: "abc",
            expires: 2_000,
            size,
            content_type: "image/png",
            sha256: None,
        }
    }

    #[test]
    fn a_signature_verifies_until_it_expires() {
        let s = signer(&[("k1", 1)]);
        let sig = s.sign_upload(&grant(10));
        assert!(s.verify_upload(&grant(10), &sig, 1_000).is_ok());
        let err = s.verify_upload(&grant(10), &sig, 2_000).unwrap_err();
        assert_eq!(err.code(), ErrorCode::Expired);
    }

    #[test]
    fn any_changed_field_breaks_the_signature() {
        let s = signer(&[("k1", 1)]);
        let sig = s.sign_upload(&grant(10));
        for g in [
            grant(11),
            UploadGrant {
                key: "abd",
                ..grant(10)
            },
            UploadGrant {
                expires: 2_001,
                ..grant(10)
            },
            UploadGrant {
                content_type: "image/jpeg",
                ..grant(10)
            },
            UploadGrant {
                sha256: Some("00"),
                ..grant(10)
            },
        ] {
            assert_eq!(
                s.verify_upload(&g, &sig, 1_000).unwrap_err().code(),
                ErrorCode::SignatureInvalid
            );
        }
        let mut bad = sig.clone();
        bad.pop();
        assert_eq!(
            s.verify_upload(&grant(10), &bad, 1_000).unwrap_err().code(),
            ErrorCode::SignatureInvalid
        );
        assert_eq!(
            s.verify_upload(&grant(10), "garbage", 1_000)
                .unwrap_err()
                .code(),
            ErrorCode::SignatureInvalid
        );
    }

    #[test]
    fn rotation_accepts_old_keys_and_signs_with_the_new_one() {
        let old = signer(&[("old", 1)]);
        let rotated = signer(&[("new", 2), ("old", 1)]);
        let old_sig = old.sign_download("k", 2_000);
        assert!(rotated.verify_download("k", 2_000, &old_sig, 1_000).is_ok());
        assert!(rotated.sign_download("k", 2_000).starts_with("new."));
        let retired = signer(&[("new", 2)]);
        assert!(retired
            .verify_download("k", 2_000, &old_sig, 1_000)
            .is_err());
    }

    #[test]
    fn expiries_beyond_seven_days_are_refused() {
        let s = signer(&[("k", 1)]);
        let far = 1_000 + MAX_EXPIRY_SECS + 1;
        let sig = s.sign_download("k", far);
        assert_eq!(
            s.verify_download("k", far, &sig, 1_000).unwrap_err().code(),
            ErrorCode::SignatureInvalid
        );
    }

    #[test]
    fn status_tokens_bind_the_key_and_their_own_domain() {
        let s = signer(&[("k1", 1)]);
        let token = s.sign_status("abc");
        assert!(s.verify_status("abc", &token).is_ok());
        assert!(s.verify_status("abd", &token).is_err());
        // Neither a tus capability nor a status token passes as the other.
        assert!(s.verify_tus("abc", &token).is_err());
        assert!(s.verify_status("abc", &s.sign_tus("abc")).is_err());
        let mut bad = token.clone();
        bad.pop();
        assert!(s.verify_status("abc", &bad).is_err());
        assert!(s.verify_status("abc", "").is_err());
        // Another secret's token is refused; a rotated-out key id is unknown.
        assert!(signer(&[("k1", 2)]).verify_status("abc", &token).is_err());
        let rotated = signer(&[("k2", 2), ("k1", 1)]);
        assert!(rotated.verify_status("abc", &token).is_ok());
    }

    #[test]
    fn weak_or_malformed_keys_are_refused() {
        assert_eq!(
            SigningKey::new("k", vec![0; 31]).unwrap_err(),
            SigningKeyError::TooShort(31)
        );
        assert!(SigningKey::new("a.b", vec![0; 32]).is_err());
        assert!(Signer::new(vec![]).is_err());
        let k = SigningKey::new("k", vec![0; 32]).unwrap();
        assert!(Signer::new(vec![k.clone(), k]).is_err());
        assert!(!format!("{:?}", SigningKey::new("k", vec![7; 32]).unwrap()).contains('7'));
    }
}
