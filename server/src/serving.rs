//! Answering with stored bytes, for route downloads and signed objects alike: Range, ETag,
//! Last-Modified, the 416 envelope, and the headers that keep a browser from running what it
//! is served.

use actix_files::NamedFile;
use actix_web::http::header::{
    self, ContentDisposition, DispositionParam, DispositionType, HeaderValue,
};
use actix_web::{HttpRequest, HttpResponse, ResponseError};

use crate::error::{ErrorCode, UploadError};
use crate::storage::StoredObject;

/// Types served inline as themselves: formats a browser shows as passive media or plain text,
/// never as a document that can run script. An allow-list:
///
/// - raster images: `image/png`, `image/jpeg`, `image/gif`, `image/webp`, `image/avif`,
///   `image/bmp`, `image/x-icon`, `image/vnd.microsoft.icon` (not `image/svg+xml`: SVG is a
///   document with script);
/// - `audio/*` and `video/*`;
/// - `application/pdf` and `text/plain`.
const INLINE_TYPES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/avif",
    "image/bmp",
    "image/x-icon",
    "image/vnd.microsoft.icon",
    "application/pdf",
    "text/plain",
];

/// Anything not known to be inert (see [`INLINE_TYPES`]): HTML, XHTML, SVG, XML and its
/// `+xml` dialects (RSS, Atom), JavaScript, CSS, JSON, unknown types. [`serve`] sends these as
/// an `attachment` with a neutral `application/octet-stream`, never as themselves.
pub(crate) fn is_active_content(mime: &str) -> bool {
    let media = mime.starts_with("audio/") || mime.starts_with("video/");
    !(media || INLINE_TYPES.contains(&mime))
}

/// Answers with stored bytes (a route upload or a signed object): Range, ETag and
/// Last-Modified, our error envelope for a bad range, the headers that keep a browser from
/// running what it is served, and `private, no-store` for private files.
pub(crate) async fn serve(
    req: &HttpRequest,
    object: StoredObject,
    mime: &str,
    cd: ContentDisposition,
    size: u64,
    sha256: &str,
    private: bool,
) -> Result<HttpResponse, UploadError> {
    // Only known-inert types are served as themselves; anything else is a neutral download.
    let (mime, cd) = if is_active_content(mime) {
        let cd = ContentDisposition {
            disposition: DispositionType::Attachment,
            ..cd
        };
        ("application/octet-stream", cd)
    } else {
        (mime, cd)
    };
    let mut res = match object {
        StoredObject::File(path) => {
            let file = NamedFile::open_async(&path).await?;
            let res = file
                .set_content_type(mime.parse().unwrap_or(mime::APPLICATION_OCTET_STREAM))
                .set_content_disposition(cd)
                .use_etag(true)
                .use_last_modified(true)
                .into_response(req);
            // actix-files answers a bad range with a bare 416; clients get our error envelope.
            if res.status() == actix_web::http::StatusCode::RANGE_NOT_SATISFIABLE {
                unsatisfiable(size)
            } else {
                res
            }
        }
        StoredObject::Bytes(bytes) => bytes_response(req, bytes, mime, &cd, sha256)?,
        // The store serves the bytes (Range, ETag and all) under the same type and
        // disposition; the URL expires, so the redirect is never cached.
        StoredObject::Remote(remote) => {
            let url = remote.presigned_url(mime, &cd.to_string());
            return Ok(HttpResponse::TemporaryRedirect()
                .insert_header((header::LOCATION, url))
                .insert_header((header::CACHE_CONTROL, "private, no-store"))
                .finish());
        }
    };
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    if private {
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
    }
    Ok(res)
}

/// `filename=` in plain ASCII for old clients, `filename*=` in UTF-8 for everyone else.
pub(crate) fn content_disposition(kind: DispositionType, name: &str) -> ContentDisposition {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut parameters = vec![DispositionParam::Filename(ascii)];
    if !name.is_ascii() {
        parameters.push(DispositionParam::FilenameExt(header::ExtendedValue {
            charset: header::Charset::Ext("UTF-8".into()),
            language_tag: None,
            value: name.as_bytes().to_vec(),
        }));
    }
    ContentDisposition {
        disposition: kind,
        parameters,
    }
}

/// 416 in the error envelope, with the `Content-Range: bytes */len` that tells the client the size.
pub(crate) fn unsatisfiable(len: u64) -> HttpResponse {
    let mut res = UploadError::new(
        ErrorCode::RangeNotSatisfiable,
        "the requested range cannot be served",
    )
    .error_response();
    if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
        res.headers_mut().insert(header::CONTENT_RANGE, v);
    }
    res
}

/// In-memory objects (tests): whole body or one byte range.
pub(crate) fn bytes_response(
    req: &HttpRequest,
    bytes: bytes::Bytes,
    mime: &str,
    cd: &ContentDisposition,
    sha256: &str,
) -> Result<HttpResponse, UploadError> {
    let len = bytes.len() as u64;
    let etag = format!("\"{}\"", &sha256[..32.min(sha256.len())]);
    let cached = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == "*" || t == etag)
        });
    if cached {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .finish());
    }
    let mut builder = HttpResponse::Ok();
    builder
        .insert_header((header::CONTENT_TYPE, mime.to_string()))
        .insert_header((header::CONTENT_DISPOSITION, cd.to_string()))
        .insert_header((header::ETAG, etag))
        .insert_header((header::ACCEPT_RANGES, "bytes"));
    if let Some(range) = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
    {
        let Ok(ranges) = actix_files::HttpRange::parse(range, len) else {
            return Ok(unsatisfiable(len));
        };
        if let Some(r) = ranges.first() {
            let (start, end) = (r.start, r.start + r.length);
            builder
                .status(actix_web::http::StatusCode::PARTIAL_CONTENT)
                .insert_header((
                    header::CONTENT_RANGE,
                    format!("bytes {start}-{}/{len}", end - 1),
                ));
            return Ok(builder.body(bytes.slice(start as usize..end as usize)));
        }
    }
    Ok(builder.body(bytes))
}
