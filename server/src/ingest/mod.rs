//! The hot path: one streaming pass over an upload body.
//!
//! limit (stop reading the moment the allowed size is passed) → sniff the first bytes for the
//! real type → SHA-256 and CRC32 → staged write. The caller commits the staged write only when
//! this returns `Ok`; on any error the staged bytes are dropped and never become visible.
//! Memory is bounded by one storage block plus the sniff window, whatever the file size.

pub(crate) mod resume;

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};

use crate::error::{ErrorCode, UploadError};
use crate::route::FileType;
use crate::storage::local::hex;
use crate::storage::StagedWrite;

/// Bytes looked at to recognise a format.
pub const SNIFF_WINDOW: usize = 8192;

/// What the bytes must live up to.
#[derive(Debug, Clone)]
pub struct Expectation {
    /// Exactly this many bytes (signed uploads), or at most `max_size` when `None` (multipart).
    pub exact_size: Option<u64>,
    /// At most this many bytes; more is refused as `TOO_LARGE`.
    pub max_size: u64,
    /// At least this many bytes (signed size ranges); 0 for no lower bound.
    pub min_size: u64,
    /// The declared, normalized MIME type; `application/octet-stream` means "unknown, sniff it".
    pub declared_type: String,
    /// When known in advance, the rule's file type the sniffed type must still fall under.
    pub rule_type: Option<FileType>,
    /// Lowercase hex SHA-256 the content must have.
    pub sha256: Option<String>,
    /// CRC32 (IEEE) the content must have.
    pub crc32: Option<u32>,
}

/// What was actually received.
pub struct Ingested {
    /// Bytes received.
    pub size: u64,
    /// Lowercase hex SHA-256 of the received bytes.
    pub sha256: String,
    /// CRC32 (IEEE) of the received bytes.
    pub crc32: u32,
    /// The declared type, confirmed; or the sniffed type where none was declared.
    pub content_type: String,
    /// The first bytes (up to [`SNIFF_WINDOW`]), kept so that image dimensions can be read
    /// from the header without re-reading the stored file.
    pub head: Bytes,
    /// The bytes, written to staging; committing makes them the stored object.
    pub staged: Box<dyn StagedWrite>,
}

impl std::fmt::Debug for Ingested {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingested")
            .field("size", &self.size)
            .field("sha256", &self.sha256)
            .field("content_type", &self.content_type)
            .finish_non_exhaustive()
    }
}

/// Streams `body` into `staged`, enforcing `exp`. See the module docs.
pub async fn ingest<S, E>(
    body: S,
    exp: &Expectation,
    mut staged: Box<dyn StagedWrite>,
) -> Result<Ingested, UploadError>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::fmt::Display,
{
    let limit = exp.exact_size.unwrap_or(exp.max_size).min(exp.max_size);
    let mut received: u64 = 0;
    let mut sha = Sha256::new();
    let mut crc = crc32fast::Hasher::new();
    let mut sniff = BytesMut::new();
    let mut content_type: Option<String> = None;

    let mut body = std::pin::pin!(body);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| {
            UploadError::new(
                ErrorCode::SizeMismatch,
                format!("the upload was interrupted after {received} bytes: {e}"),
            )
        })?;
        received += chunk.len() as u64;
        if received > limit {
            return Err(too_large(limit));
        }
        sha.update(&chunk);
        crc.update(&chunk);
        if content_type.is_none() {
            let take = (SNIFF_WINDOW - sniff.len()).min(chunk.len());
            sniff.extend_from_slice(&chunk[..take]);
            if sniff.len() >= SNIFF_WINDOW {
                content_type = Some(check_type(&sniff, exp)?);
            }
        }
        staged.write(chunk).await.map_err(UploadError::internal)?;
    }

    if let Some(exact) = exp.exact_size {
        if received != exact {
            return Err(UploadError::new(
                ErrorCode::SizeMismatch,
                format!("the body has {received} bytes but {exact} were declared"),
            ));
        }
    }
    if received < exp.min_size {
        return Err(UploadError::new(
            ErrorCode::TooSmall,
            format!(
                "the upload has {received} bytes, fewer than its minimum of {}",
                exp.min_size
            ),
        )
        .with_data(serde_json::json!({ "minimum": exp.min_size })));
    }
    let content_type = match content_type {
        Some(t) => t,
        None => check_type(&sniff, exp)?,
    };
    let sha256 = hex(&sha.finalize());
    let crc32 = crc.finalize();
    check_checksums(exp, &sha256, crc32)?;
    Ok(Ingested {
        size: received,
        sha256,
        crc32,
        content_type,
        head: sniff.freeze(),
        staged,
    })
}

/// Refuses content whose SHA-256 (lowercase hex) or CRC32 is not the one declared.
pub fn check_checksums(exp: &Expectation, sha256: &str, crc32: u32) -> Result<(), UploadError> {
    if let Some(expected) = exp
        .sha256
        .as_ref()
        .filter(|e| !e.eq_ignore_ascii_case(sha256))
    {
        return Err(UploadError::new(
            ErrorCode::ChecksumMismatch,
            "the content does not match the declared SHA-256",
        )
        .with_data(serde_json::json!({ "expected": expected, "actual": sha256 })));
    }
    if let Some(expected) = exp.crc32.filter(|&e| e != crc32) {
        return Err(UploadError::new(
            ErrorCode::ChecksumMismatch,
            "the content does not match the declared CRC32",
        )
        .with_data(serde_json::json!({ "expected": expected, "actual": crc32 })));
    }
    Ok(())
}

fn too_large(limit: u64) -> UploadError {
    UploadError::new(
        ErrorCode::TooLarge,
        format!("the upload exceeds its limit of {limit} bytes"),
    )
    .with_data(serde_json::json!({ "limit": limit }))
}

/// Types whose bytes `infer` recognises reliably enough that an unrecognisable body is a lie.
fn must_be_recognised(mime: &str) -> bool {
    let family = mime.split('/').next().unwrap_or("");
    matches!(family, "image" | "video" | "audio") || mime == "application/pdf"
}

/// Spellings of one format that clients and `infer` disagree on.
fn canonical(mime: &str) -> &str {
    match mime {
        "image/jpg" | "image/pjpeg" => "image/jpeg",
        "audio/mp3" | "audio/x-mp3" => "audio/mpeg",
        "audio/x-wav" | "audio/wave" | "audio/vnd.wave" => "audio/wav",
        "audio/x-flac" => "audio/flac",
        "audio/x-m4a" | "audio/mp4" => "audio/m4a",
        "video/x-m4v" => "video/mp4",
        "image/x-icon" | "image/vnd.microsoft.icon" => "image/x-icon",
        "application/x-zip-compressed" => "application/zip",
        other => other,
    }
}

/// Decides the file's type from its first bytes and the declaration, refusing a lie.
pub fn check_type(head: &[u8], exp: &Expectation) -> Result<String, UploadError> {
    let declared = exp.declared_type.as_str();
    let sniffed = infer::get(head).map(|k| k.mime_type());
    let unknown_declared = declared == "application/octet-stream";
    let result = match sniffed {
        Some(s) if unknown_declared => s.to_string(),
        Some(s) if canonical(s) == canonical(declared) => declared.to_string(),
        Some(s) => {
            return Err(UploadError::new(
                ErrorCode::UnsupportedType,
                format!("the content is {s}, not its declared type"),
            )
            .with_data(serde_json::json!({ "detected": s })))
        }
        // Bytes the sniffer cannot confirm: refused when it knows the declared format, and
        // also, for image/video/audio/PDF declarations it does not know (`image/x-evil`),
        // wherever the file's rule narrows the type family (`image`, `video/*`, …): only
        // `blob`/`*/*` and a rule naming exactly this type take such content as declared.
        None if must_be_recognised(declared)
            && (infer::is_mime_supported(declared)
                || exp.rule_type.as_ref().is_some_and(|r| {
                    r.pattern() != "*/*" && !r.pattern().eq_ignore_ascii_case(declared)
                })) =>
        {
            return Err(UploadError::new(
                ErrorCode::UnsupportedType,
                "the content cannot be confirmed to be of its declared type",
            )
            .with_data(serde_json::json!({ "detected": null })))
        }
        None => declared.to_string(),
    };
    if let Some(rule) = &exp.rule_type {
        if !rule.matches(&result) {
            return Err(UploadError::new(
                ErrorCode::UnsupportedType,
                format!(
                    "the file's type is not accepted here (expected {})",
                    rule.pattern()
                ),
            ));
        }
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{MemoryStorage, Storage, Target};
    use futures_util::stream;

    const PNG: &[u8] =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

    fn exp(size: u64, ty: &str) -> Expectation {
        Expectation {
            exact_size: Some(size),
            max_size: size,
            min_size: 0,
            declared_type: ty.into(),
            rule_type: None,
            sha256: None,
            crc32: None,
        }
    }

    async fn run(chunks: Vec<&'static [u8]>, e: &Expectation) -> Result<Ingested, UploadError> {
        let storage = MemoryStorage::new();
        let body = stream::iter(
            chunks
                .into_iter()
                .map(|c| Ok::<_, std::io::Error>(Bytes::from_static(c))),
        );
        ingest(
            body,
            e,
            storage.stage(Target::Key("k".into())).await.unwrap(),
        )
        .await
    }

    #[tokio::test]
    async fn hashes_and_sizes_in_one_pass() {
        let r = run(vec![b"hello ", b"world"], &exp(11, "text/plain"))
            .await
            .unwrap();
        assert_eq!(r.size, 11);
        assert_eq!(
            r.sha256,
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
        assert_eq!(r.crc32, crc32fast::hash(b"hello world"));
        assert_eq!(r.content_type, "text/plain");
    }

    #[tokio::test]
    async fn stops_at_the_first_byte_over_the_limit() {
        let e = run(vec![b"12345", b"67890", b"x"], &exp(8, "text/plain"))
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::TooLarge);
    }

    #[tokio::test]
    async fn bodies_under_the_minimum_are_refused_and_the_head_is_kept() {
        let mut e = exp(100, "text/plain");
        e.exact_size = None;
        e.min_size = 5;
        let err = run(vec![b"1234"], &e).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::TooSmall);
        let ok = run(vec![b"12345", b"6"], &e).await.unwrap();
        assert_eq!(&ok.head[..], b"123456");
    }

    #[tokio::test]
    async fn short_bodies_are_refused() {
        let e = run(vec![b"1234"], &exp(8, "text/plain")).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::SizeMismatch);
    }

    #[tokio::test]
    async fn a_lying_type_is_refused() {
        let e = run(vec![PNG], &exp(PNG.len() as u64, "image/jpeg"))
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::UnsupportedType);
        let e = run(vec![b"just text"], &exp(9, "image/png"))
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::UnsupportedType);
        let e = run(vec![PNG], &exp(PNG.len() as u64, "text/plain"))
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::UnsupportedType);
        assert!(run(vec![PNG], &exp(PNG.len() as u64, "image/png"))
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn unknown_declarations_take_the_sniffed_type_and_the_rule_applies() {
        let mut e = exp(PNG.len() as u64, "application/octet-stream");
        assert_eq!(run(vec![PNG], &e).await.unwrap().content_type, "image/png");
        e.rule_type = Some(FileType::Video);
        assert_eq!(
            run(vec![PNG], &e).await.unwrap_err().code(),
            ErrorCode::UnsupportedType
        );
    }

    #[tokio::test]
    async fn unverifiable_declarations_are_refused_where_the_rule_narrows_the_family() {
        const EVIL: &[u8] = b"plain words, not an image at all";
        let len = EVIL.len() as u64;
        for rule in [
            FileType::Image,
            FileType::Mime("image/*".into()),
            FileType::Video,
            FileType::Audio,
        ] {
            for declared in ["image/x-evil", "video/x-evil", "audio/x-evil"] {
                let mut e = exp(len, declared);
                e.rule_type = Some(rule.clone());
                let err = run(vec![EVIL], &e).await.unwrap_err();
                assert_eq!(
                    err.code(),
                    ErrorCode::UnsupportedType,
                    "{rule:?} {declared}"
                );
            }
        }
        // `blob`, no rule (signed uploads), or a rule naming exactly this type: as declared.
        for rule in [
            Some(FileType::Blob),
            None,
            Some(FileType::Mime("image/x-evil".into())),
        ] {
            let mut e = exp(len, "image/x-evil");
            e.rule_type = rule;
            assert_eq!(
                run(vec![EVIL], &e).await.unwrap().content_type,
                "image/x-evil"
            );
        }
        // a real PNG still passes an images-only rule
        let mut e = exp(PNG.len() as u64, "image/png");
        e.rule_type = Some(FileType::Image);
        assert_eq!(run(vec![PNG], &e).await.unwrap().content_type, "image/png");
    }

    #[tokio::test]
    async fn checksums_are_compared() {
        let mut e = exp(11, "text/plain");
        e.sha256 = Some("00".repeat(32));
        assert_eq!(
            run(vec![b"hello world"], &e).await.unwrap_err().code(),
            ErrorCode::ChecksumMismatch
        );
        e.sha256 = Some("B94D27B9934D3E08A52E52D7DA7DABFAC484EFE37A5380EE9088F7ACE2EFCDE9".into());
        assert!(run(vec![b"hello world"], &e).await.is_ok());
        e.crc32 = Some(crc32fast::hash(b"hello world") ^ 1);
        assert_eq!(
            run(vec![b"hello world"], &e).await.unwrap_err().code(),
            ErrorCode::ChecksumMismatch
        );
        e.crc32 = Some(crc32fast::hash(b"hello world"));
        assert!(run(vec![b"hello world"], &e).await.is_ok());
    }

    #[tokio::test]
    async fn stream_errors_are_reported_as_interruptions() {
        let storage = MemoryStorage::new();
        let body = stream::iter(vec![
            Ok(Bytes::from_static(b"abc")),
            Err("connection reset"),
        ]);
        let e = ingest(
            body,
            &exp(10, "text/plain"),
            storage.stage(Target::Key("k".into())).await.unwrap(),
        )
        .await
        .unwrap_err();
        assert_eq!(e.code(), ErrorCode::SizeMismatch);
        assert!(storage.is_empty());
    }
}
