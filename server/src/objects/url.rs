//! Signed object URLs: `…/objects/{folder}/{filename}?expiry=<unix secs>&…&signature=<kid.mac>`.
//!
//! The MAC (the app's [`Signer`], HMAC-SHA256) covers the method, the checked path and every
//! query parameter but `signature` itself, sorted and form-encoded, so changing, adding or
//! dropping any parameter breaks it. The signature is checked before the expiry, so a forged
//! URL never learns whether it expired.

use std::collections::BTreeMap;

use crate::error::{ErrorCode, UploadError};
use crate::route::Acl;
use crate::signing::{Signer, MAX_EXPIRY_SECS};

use super::SizeRule;

/// Everything a URL promises; each field is one query parameter.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Grant {
    pub expiry: i64,
    /// The upload id (uploads only).
    pub id: Option<String>,
    pub content_type: Option<String>,
    pub size: Option<SizeRule>,
    pub sha256: Option<String>,
    pub crc32: Option<u32>,
    pub metadata: BTreeMap<String, String>,
    pub disposition: Option<String>,
    pub acl: Option<Acl>,
    pub prevent_overwrite: bool,
    pub one_time: bool,
}

const META: &str = "meta.";

impl Grant {
    fn pairs(&self) -> Vec<(String, String)> {
        let mut p = vec![("expiry".to_string(), self.expiry.to_string())];
        let mut opt = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                p.push((k.to_string(), v));
            }
        };
        opt("id", self.id.clone());
        opt("type", self.content_type.clone());
        match self.size {
            Some(SizeRule::Exact(n)) => opt("size", Some(n.to_string())),
            Some(SizeRule::Range(min, max)) => {
                opt("minSize", Some(min.to_string()));
                opt("maxSize", Some(max.to_string()));
            }
            None => {}
        }
        opt("sha256", self.sha256.clone());
        opt("crc32", self.crc32.map(|c| c.to_string()));
        opt("disposition", self.disposition.clone());
        opt("acl", self.acl.map(|a| a.as_str().to_string()));
        opt("noOverwrite", self.prevent_overwrite.then(|| "1".into()));
        opt("once", self.one_time.then(|| "1".into()));
        for (k, v) in &self.metadata {
            p.push((format!("{META}{k}"), v.clone()));
        }
        p
    }

    fn from_pairs(pairs: &[(String, String)]) -> Result<Grant, UploadError> {
        let bad = |k: &str| {
            UploadError::new(
                ErrorCode::SignatureInvalid,
                format!("the URL's parameter `{k}` is malformed"),
            )
        };
        let mut g = Grant::default();
        let (mut min, mut max) = (None, None);
        let mut expiry = None;
        for (k, v) in pairs {
            let num = || v.parse::<u64>().map_err(|_| bad(k));
            match k.as_str() {
                "expiry" => expiry = Some(v.parse::<i64>().map_err(|_| bad(k))?),
                "id" => g.id = Some(v.clone()),
                "type" => g.content_type = Some(v.clone()),
                "size" => g.size = Some(SizeRule::Exact(num()?)),
                "minSize" => min = Some(num()?),
                "maxSize" => max = Some(num()?),
                "sha256" => g.sha256 = Some(v.clone()),
                "crc32" => g.crc32 = Some(v.parse().map_err(|_| bad(k))?),
                "disposition" => g.disposition = Some(v.clone()),
                "acl" => g.acl = Some(Acl::parse(v).ok_or_else(|| bad(k))?),
                "noOverwrite" => g.prevent_overwrite = v == "1",
                "once" => g.one_time = v == "1",
                _ => match k.strip_prefix(META) {
                    Some(name) => {
                        g.metadata.insert(name.to_string(), v.clone());
                    }
                    None => return Err(bad(k)),
                },
            }
        }
        if min.is_some() || max.is_some() {
            g.size = Some(SizeRule::Range(min.unwrap_or(0), max.unwrap_or(u64::MAX)));
        }
        g.expiry = expiry.ok_or_else(|| bad("expiry"))?;
        Ok(g)
    }
}

fn canonical(method: &str, path: &str, pairs: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
    sorted.sort();
    let encoded = serde_urlencoded::to_string(sorted).unwrap_or_default();
    format!("uplift-object-v1\n{method}\n{path}\n{encoded}")
}

/// The query string (without `?`) of a URL for `method` on `path`.
pub fn sign(signer: &Signer, method: &str, path: &str, grant: &Grant) -> String {
    let mut pairs = grant.pairs();
    let signature = signer.sign(&canonical(method, path, &pairs));
    pairs.push(("signature".into(), signature));
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

/// Checks a request's raw query string against its method and path; the grant it carries.
pub fn verify(
    signer: &Signer,
    method: &str,
    path: &str,
    query: &str,
    now_secs: i64,
) -> Result<Grant, UploadError> {
    let unsigned = || UploadError::new(ErrorCode::SignatureInvalid, "the URL is not signed");
    let mut pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query).map_err(|_| unsigned())?;
    let at = pairs
        .iter()
        .position(|(k, _)| k == "signature")
        .ok_or_else(unsigned)?;
    let (_, signature) = pairs.remove(at);
    let mut names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) || pairs.iter().any(|(k, _)| k == "signature") {
        return Err(UploadError::new(
            ErrorCode::SignatureInvalid,
            "the URL repeats a parameter",
        ));
    }
    signer.verify(&canonical(method, path, &pairs), &signature)?;
    let grant = Grant::from_pairs(&pairs)?;
    if now_secs >= grant.expiry {
        return Err(
            UploadError::new(ErrorCode::Expired, "the signed URL has expired")
                .with_data(serde_json::json!({ "expiry": grant.expiry })),
        );
    }
    if grant.expiry - now_secs > MAX_EXPIRY_SECS {
        return Err(UploadError::new(
            ErrorCode::SignatureInvalid,
            "the URL's expiry is out of bounds",
        ));
    }
    Ok(grant)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::SigningKey;

    fn signer() -> Signer {
        Signer::new(vec![SigningKey::new("k1", vec![9; 32]).unwrap()]).unwrap()
    }

    fn grant() -> Grant {
        Grant {
            expiry: 2_000,
            id: Some("u1".into()),
            content_type: Some("image/png".into()),
            size: Some(SizeRule::Range(1, 100)),
            sha256: Some("ab".repeat(32)),
            crc32: Some(7),
            metadata: BTreeMap::from([("a b".to_string(), "c&d=e".to_string())]),
            disposition: Some("attachment".into()),
            acl: Some(Acl::PublicRead),
            prevent_overwrite: true,
            one_time: true,
        }
    }

    #[test]
    fn a_signed_query_verifies_to_its_grant() {
        let s = signer();
        let q = sign(&s, "PUT", "a/b.png", &grant());
        assert_eq!(verify(&s, "PUT", "a/b.png", &q, 1_000).unwrap(), grant());
        assert_eq!(
            verify(&s, "GET", "a/b.png", &q, 1_000).unwrap_err().code(),
            ErrorCode::SignatureInvalid
        );
        assert_eq!(
            verify(&s, "PUT", "a/c.png", &q, 1_000).unwrap_err().code(),
            ErrorCode::SignatureInvalid
        );
        assert_eq!(
            verify(&s, "PUT", "a/b.png", &q, 2_000).unwrap_err().code(),
            ErrorCode::Expired
        );
    }

    #[test]
    fn every_parameter_is_bound() {
        let s = signer();
        let q = sign(&s, "PUT", "a/b.png", &grant());
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&q).unwrap();
        for i in 0..pairs.len() {
            if pairs[i].0 == "signature" {
                continue;
            }
            let mut changed = pairs.clone();
            changed[i].1.push('0');
            let mut dropped = pairs.clone();
            dropped.remove(i);
            for p in [changed, dropped] {
                let q = serde_urlencoded::to_string(&p).unwrap();
                assert_eq!(
                    verify(&s, "PUT", "a/b.png", &q, 1_000).unwrap_err().code(),
                    ErrorCode::SignatureInvalid,
                    "{q}"
                );
            }
        }
        let added = format!("{q}&acl=private");
        assert!(verify(&s, "PUT", "a/b.png", &added, 1_000).is_err());
        assert!(verify(&s, "PUT", "a/b.png", "expiry=2000", 1_000).is_err());
    }
}
