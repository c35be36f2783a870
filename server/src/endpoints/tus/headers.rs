//! Parsing the tus request headers: `Upload-Metadata`, `Upload-Checksum`, `Upload-Concat`,
//! lengths and offsets.

use std::collections::BTreeMap;

use actix_web::HttpRequest;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha1::Digest as _;

use crate::error::UploadError;

pub(crate) fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// A non-negative integer header; `Ok(None)` when absent.
pub(crate) fn number(req: &HttpRequest, name: &str) -> Result<Option<u64>, UploadError> {
    match header(req, name) {
        None => Ok(None),
        Some(v) => v.trim().parse::<u64>().map(Some).map_err(|_| {
            UploadError::bad_request(format!("{name} must be a non-negative integer"))
        }),
    }
}

/// Largest `Upload-Metadata` header, in bytes (file name, type and the route's `input`).
pub(crate) const MAX_METADATA_BYTES: usize = 4096;
/// Most pairs in `Upload-Metadata`.
pub(crate) const MAX_METADATA_PAIRS: usize = 32;

/// `Upload-Metadata: key base64,key2 base64,flag`: keys with their decoded values. An empty
/// header is an empty map (tuspy sends one). At most [`MAX_METADATA_BYTES`] and
/// [`MAX_METADATA_PAIRS`] pairs.
pub(crate) fn metadata(raw: Option<&str>) -> Result<BTreeMap<String, Vec<u8>>, UploadError> {
    let mut map = BTreeMap::new();
    let Some(raw) = raw else { return Ok(map) };
    if raw.len() > MAX_METADATA_BYTES {
        return Err(UploadError::bad_request(format!(
            "Upload-Metadata is longer than {MAX_METADATA_BYTES} bytes"
        ))
        .with_data(serde_json::json!({ "limit": MAX_METADATA_BYTES })));
    }
    if raw.split(',').filter(|p| !p.trim().is_empty()).count() > MAX_METADATA_PAIRS {
        return Err(UploadError::bad_request(format!(
            "Upload-Metadata has more than {MAX_METADATA_PAIRS} pairs"
        ))
        .with_data(serde_json::json!({ "limit": MAX_METADATA_PAIRS })));
    }
    // Refusals name the pair by its position: keys and values are never repeated.
    for (index, pair) in raw.split(',').enumerate() {
        let pair = pair.trim();
        if pair.is_empty() {
            continue;
        }
        let (key, value) = match pair.split_once(' ') {
            Some((k, v)) => (k, v.trim()),
            None => (pair, ""),
        };
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(UploadError::bad_request(format!(
                "Upload-Metadata pair {index} has an invalid key"
            ))
            .with_data(serde_json::json!({ "index": index })));
        }
        let value = STANDARD.decode(value).map_err(|_| {
            UploadError::bad_request(format!(
                "the value of Upload-Metadata pair {index} is not base64"
            ))
            .with_data(serde_json::json!({ "index": index }))
        })?;
        if map.insert(key.to_string(), value).is_some() {
            return Err(UploadError::bad_request(format!(
                "the key of Upload-Metadata pair {index} was already given"
            ))
            .with_data(serde_json::json!({ "index": index })));
        }
    }
    Ok(map)
}

/// A checksum algorithm of the checksum extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm {
    Sha1,
    Sha256,
}

pub(crate) const CHECKSUM_ALGORITHMS: &str = "sha1,sha256";

/// `Upload-Checksum: <algorithm> <base64 digest>` of one PATCH's body.
#[derive(Debug, Clone)]
pub(crate) struct Checksum {
    pub algorithm: Algorithm,
    pub digest: Vec<u8>,
}

pub(crate) fn checksum(req: &HttpRequest) -> Result<Option<Checksum>, UploadError> {
    let Some(v) = header(req, "upload-checksum") else {
        return Ok(None);
    };
    let (alg, digest) = v.trim().split_once(' ').ok_or_else(|| {
        UploadError::bad_request("Upload-Checksum must be `<algorithm> <base64>`")
    })?;
    let algorithm = match alg.to_ascii_lowercase().as_str() {
        "sha1" => Algorithm::Sha1,
        "sha256" => Algorithm::Sha256,
        _ => {
            return Err(UploadError::bad_request(format!(
                "the Upload-Checksum algorithm is not supported (supported: {CHECKSUM_ALGORITHMS})"
            )))
        }
    };
    let digest = STANDARD
        .decode(digest.trim())
        .map_err(|_| UploadError::bad_request("the Upload-Checksum digest is not base64"))?;
    Ok(Some(Checksum { algorithm, digest }))
}

/// Hashes one PATCH's body for its `Upload-Checksum`.
pub(crate) enum Hasher {
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
}

impl Hasher {
    pub fn new(alg: Algorithm) -> Self {
        match alg {
            Algorithm::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            Algorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
        }
    }
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha1(h) => h.update(bytes),
            Hasher::Sha256(h) => sha2::Digest::update(h, bytes),
        }
    }
    pub fn finish(self) -> Vec<u8> {
        match self {
            Hasher::Sha1(h) => h.finalize().to_vec(),
            Hasher::Sha256(h) => sha2::Digest::finalize(h).to_vec(),
        }
    }
}

/// `Upload-Concat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Concat {
    Partial,
    /// The partial uploads' URLs, in order.
    Final(Vec<String>),
}

/// Most partial uploads one final upload may list.
pub(crate) const MAX_CONCAT_PARTS: usize = 100;

/// `Upload-Concat: partial` or `final;<url> <url> …` (at most [`MAX_CONCAT_PARTS`] URLs).
pub(crate) fn concat(req: &HttpRequest) -> Result<Option<Concat>, UploadError> {
    let Some(v) = header(req, "upload-concat") else {
        return Ok(None);
    };
    let v = v.trim();
    if v == "partial" {
        return Ok(Some(Concat::Partial));
    }
    if let Some(urls) = v.strip_prefix("final;") {
        let urls: Vec<String> = urls.split_whitespace().map(str::to_string).collect();
        if urls.is_empty() {
            return Err(UploadError::bad_request(
                "Upload-Concat: final needs partial upload URLs",
            ));
        }
        if urls.len() > MAX_CONCAT_PARTS {
            return Err(UploadError::bad_request(format!(
                "Upload-Concat: final lists more than {MAX_CONCAT_PARTS} partial uploads"
            ))
            .with_data(serde_json::json!({ "limit": MAX_CONCAT_PARTS })));
        }
        return Ok(Some(Concat::Final(urls)));
    }
    Err(UploadError::bad_request(
        "Upload-Concat must be `partial` or `final;<url> <url> …`",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_pairs_decode_and_empty_headers_are_empty() {
        let m = metadata(Some(
            "filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential",
        ))
        .unwrap();
        assert_eq!(m["filename"], b"world_domination_plan.pdf");
        assert_eq!(m["is_confidential"], b"");
        assert!(metadata(Some("")).unwrap().is_empty());
        assert!(metadata(None).unwrap().is_empty());
        assert!(metadata(Some("a !!!")).is_err());
        assert!(metadata(Some("a YQ==,a YQ==")).is_err());
        let many: Vec<String> = (0..33).map(|i| format!("k{i} YQ==")).collect();
        assert!(metadata(Some(&many.join(","))).is_err());
        assert_eq!(metadata(Some(&many[..32].join(","))).unwrap().len(), 32);
        let long = format!("k {}", "QUFB".repeat(1100));
        assert!(metadata(Some(&long)).is_err());
    }

    #[test]
    fn checksums_hash_both_algorithms() {
        let mut h = Hasher::new(Algorithm::Sha1);
        h.update(b"abc");
        assert_eq!(STANDARD.encode(h.finish()), "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=");
        let mut h = Hasher::new(Algorithm::Sha256);
        h.update(b"abc");
        assert_eq!(
            STANDARD.encode(h.finish()),
            "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::error::ErrorCode;
    use actix_web::http::header::{HeaderName, HeaderValue};
    use actix_web::test::TestRequest;
    use proptest::prelude::*;

    /// Any bytes a header value may hold (visible ASCII, space, tab, obs-text).
    fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![8 => 0x20u8..=0x7e, 1 => Just(b'\t'), 1 => 0x80u8..=0xff],
            0..80,
        )
    }

    fn request(name: &'static str, value: &[u8]) -> actix_web::HttpRequest {
        TestRequest::default()
            .insert_header((
                HeaderName::from_static(name),
                HeaderValue::from_bytes(value).expect("a valid header value"),
            ))
            .to_http_request()
    }

    /// A metadata key: visible ASCII but `,`.
    const KEY: &str = "[!-+\\--~]{1,16}";

    proptest! {
        #[test]
        fn any_metadata_header_decodes_or_is_a_bad_request(raw in "\\PC{0,100}") {
            if let Err(e) = metadata(Some(&raw)) {
                prop_assert_eq!(e.code(), ErrorCode::BadRequest);
            }
        }

        #[test]
        fn metadata_round_trips(
            map in proptest::collection::btree_map(KEY, proptest::collection::vec(any::<u8>(), 0..40), 0..6),
            spaces in "[ ]{0,2}",
        ) {
            let header = map
                .iter()
                .map(|(k, v)| {
                    if v.is_empty() {
                        k.clone()
                    } else {
                        format!("{k} {}", STANDARD.encode(v))
                    }
                })
                .collect::<Vec<_>>()
                .join(&format!(",{spaces}"));
            prop_assert_eq!(metadata(Some(&header)).unwrap(), map);
        }

        #[test]
        fn a_repeated_metadata_key_is_refused(key in KEY, a in any::<Vec<u8>>(), b in any::<Vec<u8>>()) {
            let header = format!("{key} {},{key} {}", STANDARD.encode(a), STANDARD.encode(b));
            prop_assert_eq!(metadata(Some(&header)).unwrap_err().code(), ErrorCode::BadRequest);
        }

        #[test]
        fn numbers_parse_or_are_bad_requests(value in header_bytes()) {
            let req = request("upload-offset", &value);
            match number(&req, "upload-offset") {
                Ok(Some(n)) => {
                    let text = std::str::from_utf8(&value).unwrap();
                    prop_assert_eq!(text.trim().parse::<u64>().unwrap(), n);
                }
                Ok(None) => prop_assert!(std::str::from_utf8(&value).is_err() || value.iter().any(|b| *b >= 0x80)),
                Err(e) => prop_assert_eq!(e.code(), ErrorCode::BadRequest),
            }
        }

        #[test]
        fn numbers_round_trip(n in any::<u64>()) {
            let req = request("upload-length", n.to_string().as_bytes());
            prop_assert_eq!(number(&req, "upload-length").unwrap(), Some(n));
        }

        #[test]
        fn checksums_parse_or_are_bad_requests(value in header_bytes()) {
            if let Err(e) = checksum(&request("upload-checksum", &value)) {
                prop_assert_eq!(e.code(), ErrorCode::BadRequest);
            }
        }

        #[test]
        fn checksums_round_trip(
            digest in proptest::collection::vec(any::<u8>(), 1..64),
            sha256 in any::<bool>(),
            upper in any::<bool>(),
        ) {
            let mut alg = if sha256 { "sha256".to_string() } else { "sha1".to_string() };
            if upper {
                alg = alg.to_ascii_uppercase();
            }
            let value = format!("{alg} {}", STANDARD.encode(&digest));
            let got = checksum(&request("upload-checksum", value.as_bytes())).unwrap().unwrap();
            prop_assert_eq!(got.digest, digest);
            prop_assert_eq!(got.algorithm, if sha256 { Algorithm::Sha256 } else { Algorithm::Sha1 });
        }

        #[test]
        fn concat_headers_parse_or_are_bad_requests(value in header_bytes()) {
            match concat(&request("upload-concat", &value)) {
                Ok(Some(Concat::Final(urls))) => prop_assert!(!urls.is_empty()),
                Ok(_) => {}
                Err(e) => prop_assert_eq!(e.code(), ErrorCode::BadRequest),
            }
        }

        #[test]
        fn too_many_parts_are_refused(n in (MAX_CONCAT_PARTS + 1)..(MAX_CONCAT_PARTS + 20)) {
            let value = format!("final;{}", vec!["/u"; n].join(" "));
            let err = concat(&request("upload-concat", value.as_bytes())).unwrap_err();
            prop_assert_eq!(err.code(), ErrorCode::BadRequest);
        }

        #[test]
        fn final_concat_lists_round_trip(urls in proptest::collection::vec("[!-~]{1,30}", 1..5)) {
            let value = format!("final;{}", urls.join(" "));
            prop_assert_eq!(
                concat(&request("upload-concat", value.as_bytes())).unwrap(),
                Some(Concat::Final(urls))
            );
        }
    }
}
