//! The file object a signed upload answers with: kind from the type, image dimensions from
//! the header bytes captured during ingest (never a decode or a second read of the file).

use crate::db::ObjectRecord;
use crate::protocol::{FileKind, FileObject};

use super::{path, SignedUploads};

/// The media kind of a MIME type.
pub fn kind_of(mime: &str) -> FileKind {
    match mime.split('/').next().unwrap_or("") {
        "image" => FileKind::Image,
        "video" => FileKind::Video,
        "audio" => FileKind::Audio,
        "text" => FileKind::Text,
        _ if mime == "application/pdf" => FileKind::Pdf,
        _ => FileKind::Other,
    }
}

/// Width and height of an image from its first bytes, when the format keeps them there.
pub fn dimensions(mime: &str, head: &[u8]) -> (Option<u32>, Option<u32>) {
    if kind_of(mime) != FileKind::Image {
        return (None, None);
    }
    match imagesize::blob_size(head) {
        Ok(s) => (u32::try_from(s.width).ok(), u32::try_from(s.height).ok()),
        Err(_) => (None, None),
    }
}

/// `inline` or `attachment`, from the first token of a `Content-Disposition` value.
pub fn parse_disposition(value: &str) -> Option<&'static str> {
    match value
        .split(';')
        .next()?
        .trim()
        .to_ascii_lowercase()
        .as_str()
    {
        "inline" => Some("inline"),
        "attachment" => Some("attachment"),
        _ => None,
    }
}

/// RFC 3339 (UTC, milliseconds) of unix milliseconds.
pub fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (proleptic Gregorian), era by era.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms.rem_euclid(1000)
    )
}

/// The wire shape of a record, with a URL to fetch it (signed when private).
pub fn file_object(handle: &SignedUploads, rec: &ObjectRecord) -> FileObject {
    let (folder, filename) = path::split(&rec.path);
    FileObject {
        id: rec.id.clone(),
        kind: kind_of(&rec.content_type),
        content_type: rec.content_type.clone(),
        width: rec.width,
        height: rec.height,
        filesize: rec.size,
        folder: folder.to_string(),
        filename: filename.to_string(),
        sha256: rec.sha256.clone(),
        crc32: rec.crc32,
        metadata: rec.metadata.clone(),
        content_disposition: rec.disposition.clone(),
        acl: rec.acl,
        url: download_url(handle, rec),
        created: rfc3339(rec.created),
        updated: rfc3339(rec.updated),
    }
}

pub(crate) fn download_url(handle: &SignedUploads, rec: &ObjectRecord) -> String {
    match rec.acl {
        crate::route::Acl::PublicRead => handle.object_url(&rec.path),
        crate::route::Acl::Private => handle.signed_get(
            &rec.path,
            handle.shared.limits.download_url_ttl.as_secs().max(1) as i64,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_the_type() {
        assert_eq!(kind_of("image/png"), FileKind::Image);
        assert_eq!(kind_of("video/mp4"), FileKind::Video);
        assert_eq!(kind_of("application/pdf"), FileKind::Pdf);
        assert_eq!(kind_of("text/plain"), FileKind::Text);
        assert_eq!(kind_of("application/zip"), FileKind::Other);
    }

    #[test]
    fn png_dimensions_come_from_the_header() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x01\x2c\0\0\0\xc8\x08\x06\0\0\0";
        assert_eq!(dimensions("image/png", png), (Some(300), Some(200)));
        assert_eq!(dimensions("text/plain", png), (None, None));
        assert_eq!(dimensions("image/png", b"nope"), (None, None));
    }

    #[test]
    fn times_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(rfc3339(1_795_305_600_000), "2026-11-22T00:00:00.000Z");
    }

    #[test]
    fn dispositions_take_the_first_token() {
        assert_eq!(
            parse_disposition("Attachment; filename=\"a\""),
            Some("attachment")
        );
        assert_eq!(parse_disposition("inline"), Some("inline"));
        assert_eq!(parse_disposition("form-data"), None);
    }
}
