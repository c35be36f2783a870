//! The inbox of signed uploads sent straight to the bucket (`SignOptions::direct`): objects
//! under `{prefix}inbox/`, which no download ever reads. A presigned `PUT` binds the type, an
//! exact size and the SHA-256; a browser form is an S3 POST Object policy (a
//! `content-length-range`, the type or its start, the key or, with `${filename}`, its start),
//! signed with a SigV4 key from `aws-sigv4`. Once the server has checked what arrived, a
//! `CopyObject` bound to the checked ETag moves it to `objects/{path}`.

use std::collections::BTreeMap;
use std::io;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use futures_util::TryStreamExt;
use reqwest::StatusCode;
use rusty_s3::S3Action;
use serde_json::{json, Value};

use super::{Inner, REQUEST_TTL};
use crate::storage::{
    check_object_path, ByteStream, DirectPost, DirectPut, InboxObject, InboxRules, INBOX_FILENAME,
};

/// Checks an inbox name: `{unix secs}.{key}`, then optionally `/` and a file name.
pub(super) fn check_inbox_name(name: &str) -> io::Result<()> {
    let (head, rest) = match name.split_once('/') {
        Some((head, rest)) => (head, Some(rest)),
        None => (name, None),
    };
    let ok = head.split_once('.').is_some_and(|(secs, key)| {
        !secs.is_empty()
            && secs.bytes().all(|b| b.is_ascii_digit())
            && crate::storage::check_key(key).is_ok()
    }) && rest
        .is_none_or(|r| !r.is_empty() && r.len() <= 1024 && !r.chars().any(char::is_control));
    if ok {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "invalid inbox name",
        ))
    }
}

/// The SigV4 algorithm a form names.
const ALGORITHM: &str = "AWS4-HMAC-SHA256";

impl Inner {
    pub(super) fn inbox_key(&self, name: &str) -> String {
        format!("{}inbox/{name}", self.prefix)
    }

    /// A presigned `PutObject` whose signature covers the bound `content-type`, an exact
    /// `content-length` and `x-amz-checksum-sha256`.
    pub(super) fn presign_inbox_put(
        &self,
        name: &str,
        rules: &InboxRules,
        ttl: Duration,
    ) -> io::Result<DirectPut> {
        check_inbox_name(name)?;
        let key = self.inbox_key(name);
        let mut action = self.bucket.put_object(self.creds(), &key);
        let mut headers: BTreeMap<String, String> = BTreeMap::new();
        if let Some(t) = &rules.content_type {
            headers.insert("content-type".into(), t.clone());
        }
        if rules.size.0 == rules.size.1 {
            headers.insert("content-length".into(), rules.size.0.to_string());
        }
        if let Some(sha256) = &rules.sha256 {
            let digest = super::unhex(sha256).ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "a SHA-256 is 64 hex digits")
            })?;
            headers.insert(
                "x-amz-checksum-sha256".into(),
                base64::engine::general_purpose::STANDARD.encode(digest),
            );
        }
        for (k, v) in &headers {
            action.headers_mut().insert(k.clone(), v.clone());
        }
        let url = action.sign(ttl.max(Duration::from_secs(1))).to_string();
        // `content-length` is signed, but clients set it themselves (browsers must).
        headers.remove("content-length");
        Ok(DirectPut { url, headers })
    }

    /// An S3 POST Object form: the policy lists every field the form sends (Garage, like AWS,
    /// refuses a field no condition names), so the type is always a condition — the bound one,
    /// or a start the client's `Content-Type` field must have (empty: any type).
    pub(super) fn presign_inbox_post(
        &self,
        name: &str,
        rules: &InboxRules,
        ttl: Duration,
    ) -> io::Result<DirectPost> {
        check_inbox_name(name)?;
        let key = self.inbox_key(name);
        let now = jiff::Timestamp::now();
        let ttl = jiff::SignedDuration::try_from(ttl.max(Duration::from_secs(1)))
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "ttl out of range"))?;
        let expiration = now
            .checked_add(ttl)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "ttl out of range"))?;
        let credential = format!(
            "{}/{}/{}/s3/aws4_request",
            self.credentials.key(),
            now.strftime("%Y%m%d"),
            self.bucket.region()
        );
        let mut fields = BTreeMap::new();
        let mut conditions: Vec<Value> = Vec::new();
        match key.strip_suffix(INBOX_FILENAME) {
            Some(start) => conditions.push(json!(["starts-with", "$key", start])),
            None => conditions.push(json!({ "key": key })),
        }
        fields.insert("key".to_string(), key.clone());
        match (&rules.content_type, &rules.content_type_prefix) {
            (Some(t), _) => {
                conditions.push(json!({ "Content-Type": t }));
                fields.insert("Content-Type".to_string(), t.clone());
            }
            (None, start) => conditions.push(json!([
                "starts-with",
                "$Content-Type",
                start.as_deref().unwrap_or("")
            ])),
        }
        conditions.push(json!(["content-length-range", rules.size.0, rules.size.1]));
        let mut signed = vec![
            ("x-amz-algorithm", ALGORITHM.to_string()),
            ("x-amz-credential", credential),
            ("x-amz-date", now.strftime("%Y%m%dT%H%M%SZ").to_string()),
        ];
        if let Some(token) = self.credentials.token() {
            signed.push(("x-amz-security-token", token.to_string()));
        }
        for (k, v) in signed {
            conditions.push(json!({ k: v }));
            fields.insert(k.to_string(), v);
        }
        let policy = json!({
            "expiration": expiration.strftime("%Y-%m-%dT%H:%M:%S.000Z").to_string(),
            "conditions": conditions,
        });
        let policy = base64::engine::general_purpose::STANDARD.encode(policy.to_string());
        let signing_key = aws_sigv4::sign::v4::generate_signing_key(
            self.credentials.secret(),
            SystemTime::from(now),
            self.bucket.region(),
            "s3",
        );
        let signature = aws_sigv4::sign::v4::calculate_signature(signing_key, policy.as_bytes());
        fields.insert("policy".to_string(), policy);
        fields.insert("x-amz-signature".to_string(), signature);
        Ok(DirectPost {
            url: self.bucket.base_url().to_string(),
            fields,
        })
    }

    /// Inbox names under `prefix` (itself a checked name or the start of one), at most `limit`.
    pub(super) async fn list_inbox(&self, prefix: &str, limit: usize) -> io::Result<Vec<String>> {
        let under = self.inbox_key("");
        let far = SystemTime::now() + Duration::from_secs(86_400);
        let mut names: Vec<String> = self
            .list(&format!("{under}{prefix}"), far)
            .await?
            .into_iter()
            .map(|l| format!("{prefix}{}", l.name))
            .filter(|name| check_inbox_name(name).is_ok())
            .collect();
        names.truncate(limit);
        Ok(names)
    }

    pub(super) async fn read_inbox(
        &self,
        name: &str,
    ) -> io::Result<Option<(InboxObject, ByteStream)>> {
        check_inbox_name(name)?;
        let url = self
            .bucket
            .get_object(self.creds(), &self.inbox_key(name))
            .sign(REQUEST_TTL);
        let res = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| io::Error::other(format!("S3 GET: {}", e.without_url())))?;
        match res.status() {
            StatusCode::NOT_FOUND => return Ok(None),
            s if !s.is_success() => return Err(super::status_error("GET", res).await),
            _ => {}
        }
        let header = |n: &str| {
            res.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let object = InboxObject {
            size: res.content_length().unwrap_or(0),
            content_type: header("content-type"),
            etag: header("etag").ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    "S3 GET answered without an ETag",
                )
            })?,
        };
        let bytes = res
            .bytes_stream()
            .map_err(|e| io::Error::other(format!("S3 GET: {}", e.without_url())));
        Ok(Some((object, Box::pin(bytes))))
    }

    /// `CopyObject` bound to the checked ETag, keeping none of the headers the client sent
    /// with the bytes, then the inbox object's removal. "Never replace" is a `HEAD` first, as
    /// for staged writes.
    pub(super) async fn promote_inbox(
        &self,
        name: &str,
        etag: &str,
        path: &str,
        replace: bool,
    ) -> io::Result<()> {
        check_inbox_name(name)?;
        check_object_path(path)?;
        let (source, target) = (self.inbox_key(name), self.object_key(path));
        if !replace && self.head(&target).await?.is_some() {
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, "exists"));
        }
        match self.copy_with(&source, &target, Some(etag), true).await {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the inbox object changed while it was checked",
                ))
            }
            Err(e) => return Err(e),
        }
        self.delete(&source).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::S3Config;

    fn inner() -> std::sync::Arc<Inner> {
        let config =
            S3Config::new("http://127.0.0.1:9", "garage", "b", "GK1", "secret").prefix("app/");
        crate::storage::S3Storage::new(config).unwrap().inner
    }

    fn policy_of(post: &DirectPost) -> Value {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&post.fields["policy"])
            .unwrap();
        serde_json::from_slice(&raw).unwrap()
    }

    #[test]
    fn a_form_names_every_field_it_sends_in_its_policy() {
        let rules = InboxRules {
            content_type_prefix: Some("image/".into()),
            size: (1, 100),
            ..Default::default()
        };
        let post = inner()
            .presign_inbox_post(
                "1700000000.abc/${filename}",
                &rules,
                Duration::from_secs(60),
            )
            .unwrap();
        assert_eq!(post.url, "http://127.0.0.1:9/b/");
        assert_eq!(post.fields["key"], "app/inbox/1700000000.abc/${filename}");
        let policy = policy_of(&post);
        let conditions = policy["conditions"].as_array().unwrap();
        assert!(conditions.contains(&json!(["starts-with", "$key", "app/inbox/1700000000.abc/"])));
        assert!(conditions.contains(&json!(["starts-with", "$Content-Type", "image/"])));
        assert!(conditions.contains(&json!(["content-length-range", 1, 100])));
        for field in post.fields.keys() {
            if field == "policy" || field == "x-amz-signature" || field == "key" {
                continue;
            }
            assert!(
                conditions.iter().any(|c| c.get(field.as_str()).is_some()),
                "{field} is sent but no condition names it"
            );
        }
        assert!(post.fields["x-amz-credential"].starts_with("GK1/"));
        assert!(post.fields["x-amz-credential"].ends_with("/garage/s3/aws4_request"));
        assert_eq!(post.fields["x-amz-signature"].len(), 64);
    }

    #[test]
    fn a_form_with_a_bound_type_and_key_sends_both() {
        let rules = InboxRules {
            content_type: Some("image/png".into()),
            size: (0, 10),
            ..Default::default()
        };
        let post = inner()
            .presign_inbox_post("1700000000.abc", &rules, Duration::from_secs(60))
            .unwrap();
        assert_eq!(post.fields["Content-Type"], "image/png");
        let conditions = policy_of(&post)["conditions"].clone();
        assert!(conditions
            .as_array()
            .unwrap()
            .contains(&json!({ "key": "app/inbox/1700000000.abc" })));
    }

    #[test]
    fn inbox_names_are_checked_before_anything_is_signed() {
        let rules = InboxRules::default();
        let i = inner();
        for bad in ["", "abc", "x.abc", "1.", "1.a b", "1.abc/", "1.abc/\n"] {
            assert!(
                i.presign_inbox_put(bad, &rules, Duration::from_secs(1))
                    .is_err(),
                "{bad:?}"
            );
        }
        let put = i
            .presign_inbox_put(
                "1.abc",
                &InboxRules {
                    size: (5, 5),
                    sha256: Some("00".repeat(32)),
                    ..Default::default()
                },
                Duration::from_secs(1),
            )
            .unwrap();
        assert!(put.url.contains("/b/app/inbox/1.abc?"));
        assert!(put.headers.contains_key("x-amz-checksum-sha256"));
        assert!(!put.headers.contains_key("content-length"));
    }
}
