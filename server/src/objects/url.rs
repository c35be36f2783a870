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
                    // an unknown name is not repeated: it is whatever the client sent
                    None => return Err(bad("(unknown)")),
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

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::signing::SigningKey;
    use proptest::prelude::*;

    const NOW: i64 = 1_700_000_000;

    fn signer() -> Signer {
        Signer::new(vec![SigningKey::new("k1", vec![7; 32]).unwrap()]).unwrap()
    }

    fn size_rule() -> impl Strategy<Value = Option<SizeRule>> {
        prop_oneof![
            Just(None),
            any::<u64>().prop_map(|n| Some(SizeRule::Exact(n))),
            (any::<u64>(), any::<u64>())
                .prop_map(|(a, b)| Some(SizeRule::Range(a.min(b), a.max(b)))),
        ]
    }

    /// Any grant a URL can carry, valid now (its expiry within the bound).
    fn grant() -> impl Strategy<Value = Grant> {
        (
            (1..=MAX_EXPIRY_SECS).prop_map(|d| NOW + d),
            proptest::option::of("\\PC{0,20}"),
            proptest::option::of("\\PC{0,20}"),
            size_rule(),
            proptest::option::of("[0-9a-f]{64}"),
            proptest::option::of(any::<u32>()),
            proptest::collection::btree_map("\\PC{0,10}", "\\PC{0,20}", 0..4),
            proptest::option::of(prop_oneof![Just("inline"), Just("attachment")]),
            proptest::option::of(prop_oneof![Just(Acl::PublicRead), Just(Acl::Private)]),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(
                |(
                    expiry,
                    id,
                    content_type,
                    size,
                    sha256,
                    crc32,
                    metadata,
                    disposition,
                    acl,
                    no,
                    once,
                )| Grant {
                    expiry,
                    id,
                    content_type,
                    size,
                    sha256,
                    crc32,
                    metadata,
                    disposition: disposition.map(String::from),
                    acl,
                    prevent_overwrite: no,
                    one_time: once,
                },
            )
    }

    fn method() -> impl Strategy<Value = &'static str> {
        prop_oneof![Just("PUT"), Just("GET"), Just("HEAD"), Just("POST")]
    }

    fn code(r: Result<Grant, UploadError>) -> ErrorCode {
        r.expect_err("a tampered URL verified").code()
    }

    proptest! {
        #[test]
        fn signed_grants_verify_to_themselves(g in grant(), m in method(), path in "[a-z]{1,8}/\\PC{1,20}") {
            let s = signer();
            let q = sign(&s, m, &path, &g);
            prop_assert_eq!(verify(&s, m, &path, &q, NOW).unwrap(), g.clone());
            // Past its expiry the same URL is expired, not forged.
            prop_assert_eq!(code(verify(&s, m, &path, &q, g.expiry)), ErrorCode::Expired);
        }

        #[test]
        fn any_change_to_a_parameter_breaks_the_signature(
            g in grant(),
            pick in any::<prop::sample::Index>(),
            extra in "\\PC{1,10}",
            extra_name in "[a-zA-Z.]{1,10}",
        ) {
            let s = signer();
            let q = sign(&s, "PUT", "a/b", &g);
            let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&q).unwrap();
            let i = pick.index(pairs.len());
            let reencode = |p: &[(String, String)]| serde_urlencoded::to_string(p).unwrap();

            let mut changed = pairs.clone();
            changed[i].1.push_str(&extra);
            prop_assert_eq!(code(verify(&s, "PUT", "a/b", &reencode(&changed), NOW)), ErrorCode::SignatureInvalid);

            let mut dropped = pairs.clone();
            dropped.remove(i);
            prop_assert_eq!(code(verify(&s, "PUT", "a/b", &reencode(&dropped), NOW)), ErrorCode::SignatureInvalid);

            let mut added = pairs.clone();
            added.insert(i, (extra_name, extra.clone()));
            prop_assert_eq!(code(verify(&s, "PUT", "a/b", &reencode(&added), NOW)), ErrorCode::SignatureInvalid);

            // Another method or path, or another key, does not verify either.
            prop_assert_eq!(code(verify(&s, "GET", "a/b", &q, NOW)), ErrorCode::SignatureInvalid);
            prop_assert_eq!(code(verify(&s, "PUT", &format!("a/b{extra}"), &q, NOW)), ErrorCode::SignatureInvalid);
            let other = Signer::new(vec![SigningKey::new("k1", vec![8; 32]).unwrap()]).unwrap();
            prop_assert_eq!(code(verify(&other, "PUT", "a/b", &q, NOW)), ErrorCode::SignatureInvalid);
        }

        #[test]
        fn arbitrary_queries_are_refused_as_unsigned_or_invalid(query in "\\PC{0,120}") {
            let s = signer();
            prop_assert_eq!(code(verify(&s, "PUT", "a/b", &query, NOW)), ErrorCode::SignatureInvalid);
        }

        #[test]
        fn query_shaped_garbage_is_refused_as_invalid(
            pairs in proptest::collection::vec(
                (prop_oneof![Just("expiry".to_string()), Just("signature".to_string()), Just("size".to_string()), "[a-z.]{1,8}"], "\\PC{0,30}"),
                0..6,
            ),
        ) {
            let s = signer();
            let q = serde_urlencoded::to_string(&pairs).unwrap();
            prop_assert_eq!(code(verify(&s, "PUT", "a/b", &q, NOW)), ErrorCode::SignatureInvalid);
        }

        #[test]
        fn malformed_parameters_never_panic(
            pairs in proptest::collection::vec(
                (prop_oneof![
                    Just("expiry"), Just("size"), Just("minSize"), Just("maxSize"), Just("crc32"),
                    Just("acl"), Just("noOverwrite"), Just("once"), Just("meta.x"), Just("bogus"),
                ].prop_map(String::from), "\\PC{0,25}"),
                0..8,
            ),
        ) {
            if let Err(e) = Grant::from_pairs(&pairs) {
                prop_assert_eq!(e.code(), ErrorCode::SignatureInvalid);
            }
        }
    }
}
