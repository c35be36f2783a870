//! `multipart/form-data` bodies, as the multipart upload and the signed forms read them: a
//! parser with a small bounded buffer, its errors said without echoing the body, and small
//! text fields read with a bound.

use std::pin::Pin;

use actix_multipart::{Field, Multipart, MultipartConfig};
use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::{FromRequest, HttpRequest};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use crate::error::{ErrorCode, UploadError};

/// The most bytes the multipart parser holds for one request: a part's headers must fit in
/// it, and a file part reaches the pipeline in pieces of at most this size. Small, because
/// with 1,000 uploads at once every request holds one (actix-multipart's default is 64 KiB).
pub(crate) const PARSER_BUFFER: usize = 16 * 1024;

/// The parser configuration the endpoints' scope carries; [`parser`] picks it up.
pub(crate) fn parser_config() -> MultipartConfig {
    MultipartConfig::default().buffer_limit(PARSER_BUFFER)
}

/// A multipart parser over `body` (the request's body, wrapped as the front end reads it),
/// with the buffer bound of [`parser_config`] from the request's scope.
pub(crate) fn parser<S>(req: &HttpRequest, body: S) -> Multipart
where
    S: Stream<Item = Result<Bytes, PayloadError>> + 'static,
{
    let body: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> = Box::pin(body);
    let mut payload = Payload::Stream { payload: body };
    match Multipart::from_request(req, &mut payload).into_inner() {
        Ok(form) => form,
        // Constructing the parser never fails (a bad Content-Type surfaces as the first
        // field's error); should that change, the same error is kept for the first read.
        Err(_) => Multipart::new(req.headers(), futures_util::stream::empty()),
    }
}

/// A body the multipart parser refused.
pub(crate) fn multipart_error(e: actix_multipart::MultipartError) -> UploadError {
    use actix_multipart::MultipartError as E;
    let what = match e {
        E::ContentTypeMissing | E::ContentTypeParse | E::ContentTypeIncompatible => {
            "send the body as multipart/form-data with a boundary"
        }
        E::BoundaryMissing => "the multipart Content-Type has no boundary",
        E::ContentDispositionMissing | E::ContentDispositionNameMissing => {
            "every part needs a Content-Disposition with a name"
        }
        E::Incomplete => "the multipart body ended before its closing boundary",
        _ => "the multipart body is malformed",
    };
    UploadError::bad_request(what)
}

/// A text field, read whole: at most `limit` bytes (`TOO_LARGE` past it).
pub(crate) async fn read_small(mut field: Field, limit: usize) -> Result<Vec<u8>, UploadError> {
    let mut buf = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(multipart_error)?;
        if buf.len() + chunk.len() > limit {
            return Err(UploadError::new(
                ErrorCode::TooLarge,
                format!("a form field is larger than {limit} bytes"),
            )
            .with_data(serde_json::json!({ "limit": limit })));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::route::normalize_mime;
    use actix_multipart::Multipart;
    use actix_web::http::header::{self, HeaderMap, HeaderValue};
    use bytes::Bytes;
    use futures_util::TryStreamExt;
    use proptest::prelude::*;

    const BOUNDARY: &str = "uplift-proptest-boundary";
    const LIMIT: usize = 64;

    /// What the endpoints take from one part.
    #[derive(Debug, PartialEq)]
    struct Part {
        name: Option<String>,
        filename: Option<String>,
        mime: Option<String>,
        value: Vec<u8>,
    }

    /// Parses `body` as the endpoints do: each part's Content-Disposition and Content-Type,
    /// then its value through `read_small`. Chunks of `chunk` bytes, as a network would.
    fn parse(content_type: &[u8], body: Vec<u8>, chunk: usize) -> Result<Vec<Part>, UploadError> {
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_bytes(content_type) {
            headers.insert(header::CONTENT_TYPE, v);
        }
        let chunks: Vec<Result<Bytes, actix_web::error::PayloadError>> = body
            .chunks(chunk.max(1))
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let mut form = Multipart::new(&headers, futures_util::stream::iter(chunks));
            let mut parts = Vec::new();
            while let Some(field) = form.try_next().await.map_err(multipart_error)? {
                let cd = field.content_disposition();
                let name = cd.and_then(|c| c.get_name()).map(str::to_string);
                let filename = cd.and_then(|c| c.get_filename()).map(str::to_string);
                let mime = field
                    .content_type()
                    .and_then(|m| normalize_mime(m.as_ref()));
                let value = read_small(field, LIMIT).await?;
                parts.push(Part {
                    name,
                    filename,
                    mime,
                    value,
                });
            }
            Ok(parts)
        })
    }

    fn content_type() -> Vec<u8> {
        format!("multipart/form-data; boundary={BOUNDARY}").into_bytes()
    }

    /// Header-ish bytes: printable ASCII, the characters that matter in a header, and a few
    /// bytes that do not belong.
    fn header_line() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![
                10 => 0x20u8..=0x7e,
                2 => proptest::sample::select(b"\";=:\\".to_vec()),
                1 => proptest::sample::select(b"\r\n\t\0".to_vec()),
                1 => 0x80u8..=0xff,
            ],
            0..80,
        )
    }

    fn allowed(e: &UploadError) -> bool {
        matches!(e.code(), ErrorCode::BadRequest | ErrorCode::TooLarge)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn arbitrary_part_headers_parse_or_are_refused_as_bad_requests(
            lines in proptest::collection::vec(header_line(), 0..4),
            value in proptest::collection::vec(any::<u8>(), 0..100),
            chunk in 1usize..64,
        ) {
            let mut body = format!("--{BOUNDARY}\r\n").into_bytes();
            for line in &lines {
                body.extend_from_slice(line);
                body.extend_from_slice(b"\r\n");
            }
            body.extend_from_slice(b"\r\n");
            body.extend_from_slice(&value);
            body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
            if let Err(e) = parse(&content_type(), body, chunk) {
                prop_assert!(allowed(&e), "{:?}", e.code());
            }
        }

        #[test]
        fn arbitrary_bodies_and_content_types_never_panic(
            ct in prop_oneof![Just(content_type()), header_line()],
            body in proptest::collection::vec(any::<u8>(), 0..300),
            chunk in 1usize..64,
        ) {
            if let Err(e) = parse(&ct, body, chunk) {
                prop_assert!(allowed(&e), "{:?}", e.code());
            }
        }

        #[test]
        fn well_formed_parts_round_trip(
            parts in proptest::collection::vec(
                (
                    "[A-Za-z0-9_.\\-]{1,20}",
                    proptest::option::of("[A-Za-z0-9_. ()\\-]{1,30}"),
                    proptest::option::of(("[a-z]{1,10}", "[a-z0-9.+\\-]{1,15}")),
                    proptest::collection::vec(any::<u8>(), 0..=LIMIT),
                ),
                1..4,
            ),
            chunk in 1usize..64,
        ) {
            let mut body = Vec::new();
            for (name, filename, mime, value) in &parts {
                body.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"").as_bytes());
                if let Some(f) = filename {
                    body.extend_from_slice(format!("; filename=\"{f}\"").as_bytes());
                }
                body.extend_from_slice(b"\r\n");
                if let Some((t, s)) = mime {
                    body.extend_from_slice(format!("Content-Type: {t}/{s}; charset=x\r\n").as_bytes());
                }
                body.extend_from_slice(b"\r\n");
                body.extend_from_slice(value);
                body.extend_from_slice(b"\r\n");
            }
            body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
            let got = parse(&content_type(), body, chunk).unwrap();
            let want: Vec<Part> = parts
                .into_iter()
                .map(|(name, filename, mime, value)| Part {
                    name: Some(name),
                    filename,
                    mime: mime.map(|(t, s)| format!("{t}/{s}")),
                    value,
                })
                .collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn a_field_over_the_limit_is_too_large(extra in 1usize..200, chunk in 1usize..64) {
            let mut body = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"input\"\r\n\r\n").into_bytes();
            body.extend(std::iter::repeat_n(b'x', LIMIT + extra));
            body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
            prop_assert_eq!(parse(&content_type(), body, chunk).unwrap_err().code(), ErrorCode::TooLarge);
        }
    }
}
